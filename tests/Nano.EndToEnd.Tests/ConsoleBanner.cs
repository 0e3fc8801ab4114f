namespace Nano.EndToEnd.Tests;

/// <summary>A guest's console as a browser reaches it: the WebSocket relay of a monitor channel, read to the RFB banner.</summary>
public static class ConsoleBanner
{
    /// <summary>The first 12 bytes from the relay at <paramref name="url"/> (ws:// or wss://, trusting <paramref name="ca"/> when given).</summary>
    public static async Task<string> ReadAsync(string url, string? ca = null)
    {
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        socket.Options.AddSubProtocol("binary");
        if (ca is not null)
            socket.Options.RemoteCertificateValidationCallback = Nano.Tls.ZoneCertificates.ServerCheck(ca);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await socket.ConnectAsync(new Uri(url), timeout.Token);
        var buffer = new byte[12];
        var read = 0;
        while (read < buffer.Length)
            read += (await socket.ReceiveAsync(buffer.AsMemory(read), timeout.Token)).Count;
        return System.Text.Encoding.ASCII.GetString(buffer);
    }
}
