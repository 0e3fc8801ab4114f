using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell;

/// <summary>
/// The cell's end of console tunnels. Guests' consoles listen on this host's loopback only; when the server asks
/// (OpenConsole), the agent connects to that guest's console, and nothing else, and carries its bytes over a
/// ConsoleTunnel call to the server, authenticated like every call of the cell.
/// </summary>
public sealed class ConsoleTunnels(Func<CellAgentService.CellAgentServiceClient> server, string token, IHypervisor hypervisor, ILogger logger)
{
    /// <summary>Connects the guest's console to the tunnel the server named; returns an error text, or "".</summary>
    public async Task<string> OpenAsync(OpenConsole open, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(open.Tunnel, out _))
            return "a console tunnel is named by a UUID";
        if (hypervisor.Find(open.GuestId) is not { State: DomainState.Running, ConsolePort: { } port })
            return $"guest {open.GuestId} has no running console on this cell";
        var console = new TcpClient();
        try
        {
            await console.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
        }
        catch (SocketException e)
        {
            console.Dispose();
            return $"the console of guest {open.GuestId} does not answer: {e.Message}";
        }
        var call = server().ConsoleTunnel(new Metadata { { "nano-cell-token", token } });
        try
        {
            await call.RequestStream.WriteAsync(new ConsoleTunnelRequest { Tunnel = open.Tunnel }, cancellationToken);
        }
        catch (RpcException e)
        {
            console.Dispose();
            call.Dispose();
            return $"the server refused the console tunnel: {e.Status.Detail}";
        }
        _ = CarryAsync(console, call, open.GuestId);
        return "";
    }

    /// <summary>Bytes both ways until either end closes; then both are closed.</summary>
    private async Task CarryAsync(TcpClient console, AsyncDuplexStreamingCall<ConsoleTunnelRequest, ConsoleTunnelResponse> call, string guest)
    {
        using (console)
        using (call)
        using (var stop = new CancellationTokenSource())
        {
            var stream = console.GetStream();
            var up = Task.Run(async () =>
            {
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = await stream.ReadAsync(buffer, stop.Token)) > 0)
                    await call.RequestStream.WriteAsync(new ConsoleTunnelRequest { Data = ByteString.CopyFrom(buffer, 0, read) }, stop.Token);
                await call.RequestStream.CompleteAsync();
            });
            var down = Task.Run(async () =>
            {
                await foreach (var bytes in call.ResponseStream.ReadAllAsync(stop.Token))
                    await stream.WriteAsync(bytes.Data.Memory, stop.Token);
            });
            await Task.WhenAny(up, down);
            await stop.CancelAsync();
            await Task.WhenAll(up, down).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        logger.LogInformation("Console tunnel of guest {Guest} closed", guest);
    }
}
