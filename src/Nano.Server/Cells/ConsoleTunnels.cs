using System.Collections.Concurrent;
using Grpc.Core;
using Nano.Contracts.Cell.V1;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Cells;

/// <summary>
/// Guests' consoles listen on their cell's loopback only, so the monitor relay reaches one through its cell: it names a
/// tunnel (a fresh UUID) in an OpenConsole command, the agent connects to the guest's console and calls back with
/// ConsoleTunnel under that id, and the two ends meet here. A tunnel is good once, for the cell it was asked of.
/// </summary>
public sealed class ConsoleTunnels(CellCommands commands)
{
    private static readonly TimeSpan ArrivalLimit = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<Guid, Awaited> _awaited = new();

    /// <summary>The cell's end of a console: bytes from the guest, bytes to it; closing it ends the cell's call.</summary>
    public sealed class Tunnel(IAsyncStreamReader<ConsoleTunnelRequest> fromGuest, IServerStreamWriter<ConsoleTunnelResponse> toGuest)
    {
        internal TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The guest's bytes as they come, until the cell's end closes.</summary>
        public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReceiveAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            while (await fromGuest.MoveNext(cancellationToken))
                yield return fromGuest.Current.Data.Memory;
        }

        public Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
            toGuest.WriteAsync(new ConsoleTunnelResponse { Data = Google.Protobuf.ByteString.CopyFrom(bytes.Span) }, cancellationToken);

        public void Close() => Closed.TrySetResult();
    }

    private sealed record Awaited(string Cell, TaskCompletionSource<Tunnel> Arrival);

    /// <summary>Asks <paramref name="cell"/> for <paramref name="guest"/>'s console; the tunnel once the cell has called back.</summary>
    public async Task<Tunnel> OpenAsync(string cell, Guid guest, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        var awaited = new Awaited(cell, new TaskCompletionSource<Tunnel>(TaskCreationOptions.RunContinuationsAsynchronously));
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
        var tunnel = new Tunnel(fromGuest, toGuest);
        if (!awaited.Arrival.TrySetResult(tunnel))
            return; // the relay gave up meanwhile
        await using var ended = cancellationToken.Register(tunnel.Close);
        await tunnel.Closed.Task;
    }
}
