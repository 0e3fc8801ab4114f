using System.Collections.Concurrent;
using Grpc.Core;
using Nano.Contracts.Cell.V1;
using Nano.Contracts.Replica.V1;
using Nano.Server.Domain.Rules;
using Nano.Server.Replicas;

namespace Nano.Server.Cells;

/// <summary>
/// Guests' consoles listen on their cell's loopback only, so the monitor relay reaches one through its cell: it names a
/// tunnel (a fresh UUID) in an OpenConsole command, the agent connects to the guest's console and calls back with
/// ConsoleTunnel under that id, and the two ends meet here. A tunnel is good once, for the cell it was asked of. When
/// another replica holds the cell's stream, the console goes through that replica (ReplicaService.Console), which
/// opens the tunnel with its cell.
/// </summary>
public sealed class ConsoleTunnels(CellCommands commands, CellGateway gateway, ReplicaClients others)
{
    private static readonly TimeSpan ArrivalLimit = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<Guid, Awaited> _awaited = new();

    /// <summary>A guest's console for the relay: bytes from the guest, bytes to it; closing it ends the console.</summary>
    public abstract class Tunnel
    {
        /// <summary>The guest's bytes as they come, until the console ends.</summary>
        public abstract IAsyncEnumerable<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken cancellationToken);

        public abstract Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

        public abstract void Close();
    }

    /// <summary>The cell's end of a console, on its ConsoleTunnel call to this replica; closing it ends the cell's call.</summary>
    private sealed class CellTunnel(IAsyncStreamReader<ConsoleTunnelRequest> fromGuest, IServerStreamWriter<ConsoleTunnelResponse> toGuest) : Tunnel
    {
        internal TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async IAsyncEnumerable<ReadOnlyMemory<byte>> ReceiveAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            while (await fromGuest.MoveNext(cancellationToken))
                yield return fromGuest.Current.Data.Memory;
        }

        public override Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
            toGuest.WriteAsync(new ConsoleTunnelResponse { Data = Google.Protobuf.ByteString.CopyFrom(bytes.Span) }, cancellationToken);

        public override void Close() => Closed.TrySetResult();
    }

    /// <summary>A console through the replica that holds the cell's stream.</summary>
    private sealed class ReplicaTunnel(AsyncDuplexStreamingCall<ConsoleRequest, ConsoleResponse> call) : Tunnel
    {
        public override async IAsyncEnumerable<ReadOnlyMemory<byte>> ReceiveAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            while (await call.ResponseStream.MoveNext(cancellationToken))
                yield return call.ResponseStream.Current.Data.Memory;
        }

        public override Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
            call.RequestStream.WriteAsync(new ConsoleRequest { Data = Google.Protobuf.ByteString.CopyFrom(bytes.Span) }, cancellationToken);

        public override void Close() => call.Dispose();
    }

    private sealed record Awaited(string Cell, TaskCompletionSource<CellTunnel> Arrival);

    /// <summary>Asks <paramref name="cell"/> for <paramref name="guest"/>'s console, here or through the replica holding its stream.</summary>
    public async Task<Tunnel> OpenAsync(string cell, Guid guest, CancellationToken cancellationToken)
    {
        if (!gateway.HoldsStream(cell) && await gateway.HeldElsewhereAsync(cell) is { } remote)
            return new ReplicaTunnel(await others.OpenConsoleAsync(remote.GrpcUrl, cell, guest, cancellationToken));
        return await OpenHereAsync(cell, guest, cancellationToken);
    }

    /// <summary>Asks <paramref name="cell"/>, whose stream this replica holds, for <paramref name="guest"/>'s console; the tunnel once the cell has called back.</summary>
    public async Task<Tunnel> OpenHereAsync(string cell, Guid guest, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        var awaited = new Awaited(cell, new TaskCompletionSource<CellTunnel>(TaskCreationOptions.RunContinuationsAsynchronously));
        _awaited[id] = awaited;
        try
        {
            await commands.OpenConsoleAsync(cell, guest, id, cancellationToken);
            return await awaited.Arrival.Task.WaitAsync(ArrivalLimit, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw Fail.Unavailable($"cell '{cell}' did not open the console of guest {guest} within {ArrivalLimit.TotalSeconds:0} s");
        }
        finally
        {
            _awaited.TryRemove(id, out _);
        }
    }

    /// <summary>
    /// A cell's ConsoleTunnel call (<paramref name="cell"/>: its name when it presented a certificate): joins the tunnel
    /// its first message names, then lasts until the relay closes it or the call ends.
    /// </summary>
    public async Task ServeAsync(string? cell, IAsyncStreamReader<ConsoleTunnelRequest> fromGuest, IServerStreamWriter<ConsoleTunnelResponse> toGuest, CancellationToken cancellationToken)
    {
        if (!await fromGuest.MoveNext(cancellationToken) || !Guid.TryParse(fromGuest.Current.Tunnel, out var id) ||
            !_awaited.TryGetValue(id, out var awaited) || (cell is not null && awaited.Cell != cell) || !_awaited.TryRemove(id, out _))
            throw Fail.NotFound("no console tunnel of this cell is awaited under that id");
        var tunnel = new CellTunnel(fromGuest, toGuest);
        if (!awaited.Arrival.TrySetResult(tunnel))
            return; // the relay gave up meanwhile
        await using var ended = cancellationToken.Register(tunnel.Close);
        await tunnel.Closed.Task;
    }
}
