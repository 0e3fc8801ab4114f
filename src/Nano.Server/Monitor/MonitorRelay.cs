using System.Net.WebSockets;
using Grpc.Core;
using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Http;
using Nano.Server.Metrics;

namespace Nano.Server.Monitor;

/// <summary>
/// B2: GET /api/v1/monitor_channels/{id} upgrades to a WebSocket (subprotocol "binary", as noVNC asks)
/// and relays raw bytes between it and the guest's VNC server, which listens on its cell's loopback
/// only: the bytes travel in a console tunnel the cell opens back to the server (ConsoleTunnels). The
/// channel id is the credential: it works once, before it expires. Transcoding cannot carry a WebSocket, so this is the
/// one endpoint beside the gRPC services.
/// </summary>
public static class MonitorRelay
{
    public const string Route = "/api/v1/monitor_channels/{id}";

    public static async Task HandleAsync(
        HttpContext http, string id, MonitorChannelRepository channels, GuestRepository guests, ConsoleTunnels tunnels, ServerMetrics metrics, ILoggerFactory logs)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, 400, "a monitor channel is opened as a WebSocket");
            return;
        }
        var guestId = Guid.TryParse(id, out var guid) ? await channels.ClaimAsync(guid) : null;
        if (guestId is not { } guest)
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, 404, $"monitor channel '{(id.Length > 40 ? id[..40] : id)}' is unknown, used or expired");
            return;
        }
        if (await guests.FindAsync(guest) is not { Cell: { Length: > 0 } cell })
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, 404, $"guest {guest} is on no cell");
            return;
        }
        ConsoleTunnels.Tunnel tunnel;
        try
        {
            tunnel = await tunnels.OpenAsync(cell, guest, http.RequestAborted);
        }
        catch (RpcException e)
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, NanoErrorCodes.FromGrpc(e.StatusCode), $"the console of guest {guest} cannot be reached: {e.Status.Detail}");
            return;
        }
        try
        {
            var subprotocol = http.WebSockets.WebSocketRequestedProtocols.Contains("binary") ? "binary" : null;
            using var socket = await http.WebSockets.AcceptWebSocketAsync(subprotocol);
            using var connected = metrics.ConsoleConnected();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
            var toBrowser = CopyToSocketAsync(tunnel, socket, stop.Token);
            var toGuest = CopyToGuestAsync(socket, tunnel, stop.Token);
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
        }
        finally
        {
            tunnel.Close();
        }
        logs.CreateLogger(typeof(MonitorRelay)).LogInformation("Monitor channel {Channel} to guest {Guest} on cell {Cell} closed", id, guest, cell);
    }

    private static async Task CopyToSocketAsync(ConsoleTunnels.Tunnel from, WebSocket to, CancellationToken token)
    {
        await foreach (var bytes in from.ReceiveAsync(token))
            await to.SendAsync(bytes, WebSocketMessageType.Binary, endOfMessage: true, token);
    }

    /// <summary>Binary messages go to the guest; text messages are ignored (api-decisions.md B2).</summary>
    private static async Task CopyToGuestAsync(WebSocket from, ConsoleTunnels.Tunnel to, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var message = await from.ReceiveAsync(buffer.AsMemory(), token);
            if (message.MessageType == WebSocketMessageType.Close)
                return;
            if (message.MessageType == WebSocketMessageType.Binary)
                await to.SendAsync(buffer.AsMemory(0, message.Count), token);
        }
    }
}
