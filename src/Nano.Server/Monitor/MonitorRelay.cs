using System.Net.Sockets;
using System.Net.WebSockets;
using Nano.Server.Data;
using Nano.Server.Http;

namespace Nano.Server.Monitor;

/// <summary>
/// B2: GET /api/v1/monitor_channels/{id} upgrades to a WebSocket (subprotocol "binary", as noVNC asks)
/// and relays raw bytes between it and the guest's VNC server on its cell. The channel id is the
/// credential: it works once, before it expires. Transcoding cannot carry a WebSocket, so this is the
/// one endpoint beside the gRPC services.
/// </summary>
public static class MonitorRelay
{
    public const string Route = "/api/v1/monitor_channels/{id}";

    public static async Task HandleAsync(HttpContext http, string id, MonitorChannelRepository channels, ILoggerFactory logs)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, 400, "a monitor channel is opened as a WebSocket");
            return;
        }
        var address = Guid.TryParse(id, out var guid) ? await channels.ClaimAsync(guid) : null;
        if (address is null)
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, 404, $"monitor channel '{(id.Length > 40 ? id[..40] : id)}' is unknown, used or expired");
            return;
        }
        var separator = address.LastIndexOf(':');
        using var vnc = new TcpClient();
        try
        {
            await vnc.ConnectAsync(address[..separator], int.Parse(address[(separator + 1)..], System.Globalization.CultureInfo.InvariantCulture), http.RequestAborted);
        }
        catch (SocketException e)
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, 503, $"the guest's console at {address} does not answer: {e.Message}");
            return;
        }
        var subprotocol = http.WebSockets.WebSocketRequestedProtocols.Contains("binary") ? "binary" : null;
        using var socket = await http.WebSockets.AcceptWebSocketAsync(subprotocol);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var stream = vnc.GetStream();
        var toBrowser = CopyToSocketAsync(stream, socket, stop.Token);
        var toGuest = CopyToStreamAsync(socket, stream, stop.Token);
        await Task.WhenAny(toBrowser, toGuest);
        stop.Cancel();
        try
        {
            if (socket.State == WebSocketState.Open)
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "console closed", CancellationToken.None);
        }
        catch (WebSocketException)
        {
        }
        await Task.WhenAll(toBrowser, toGuest).ContinueWith(_ => { }, TaskScheduler.Default);
        logs.CreateLogger(typeof(MonitorRelay)).LogInformation("Monitor channel {Channel} to {Address} closed", id, address);
    }

    private static async Task CopyToSocketAsync(NetworkStream from, WebSocket to, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, token)) > 0)
            await to.SendAsync(buffer.AsMemory(0, read), WebSocketMessageType.Binary, endOfMessage: true, token);
    }

    /// <summary>Binary messages go to the guest; text messages are ignored (api-decisions.md B2).</summary>
    private static async Task CopyToStreamAsync(WebSocket from, NetworkStream to, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var message = await from.ReceiveAsync(buffer.AsMemory(), token);
            if (message.MessageType == WebSocketMessageType.Close)
                return;
            if (message.MessageType == WebSocketMessageType.Binary)
                await to.WriteAsync(buffer.AsMemory(0, message.Count), token);
        }
    }
}
