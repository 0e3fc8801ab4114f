using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Nano.Contracts.Cell.V1;

namespace Nano.Server.Cells;

/// <summary>One agent's live stream: an outbound queue (one writer) and the commands waiting for results.</summary>
public sealed class CellConnection(string cell, CancellationToken callEnded)
{
    private readonly Channel<ConnectResponse> _outbound = Channel.CreateUnbounded<ConnectResponse>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, Pending> _pending = new();
    private readonly CancellationTokenSource _closed = CancellationTokenSource.CreateLinkedTokenSource(callEnded);

    public string Cell { get; } = cell;

    /// <summary>This stream, as the cell's row names its newest one.</summary>
    public Guid Id { get; } = Guid.NewGuid();

    /// <summary>When the stream was admitted.</summary>
    public DateTime OpenedAt { get; } = DateTime.UtcNow;

    /// <summary>Cancelled when the stream ends or the server drops it (silence, replacement by a newer stream).</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>When the agent last sent anything on this stream.</summary>
    public DateTime LastHeard { get; set; } = DateTime.UtcNow;

    /// <summary>What heartbeat acks tell the agent: how long it may go unheard before it fences itself (0: its pool does not fail over).</summary>
    public int FenceAfterMs { get; set; }

    /// <summary>
    /// The cell's domain events, applied in order beside the stream: applying one may wait for a guest row that a
    /// transaction holds while it waits for this very stream's next result (e.g. a start under a changed setting).
    /// </summary>
    public Channel<DomainEvent> Events { get; } = Channel.CreateUnbounded<DomainEvent>(new UnboundedChannelOptions { SingleReader = true });

    public void Send(ConnectResponse message)
    {
        if (!_outbound.Writer.TryWrite(message))
            throw new CellDisconnectedException(Cell);
    }

    /// <summary>
    /// Sends a command and waits for its result. Without <paramref name="progress"/> the wait ends after
    /// <paramref name="timeout"/>; with it, after <paramref name="timeout"/> without a progress message
    /// (long work such as an image fetch reports as it goes), and each new percent is passed on.
    /// </summary>
    public async Task<CommandResult> RunAsync(Command command, TimeSpan timeout, CancellationToken cancellationToken, Func<int, Task>? progress = null)
    {
        var pending = new Pending();
        _pending[command.Id] = pending;
        try
        {
            Send(new ConnectResponse { Command = command });
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closed);
            if (progress is null)
                return await pending.Result.Task.WaitAsync(timeout, linked.Token);
            var reported = -1;
            while (true)
            {
                // Wakes on each progress report (or every second, to notice silence).
                var finished = await Task.WhenAny(pending.Result.Task, pending.Reported.WaitAsync(TimeSpan.FromSeconds(1), linked.Token));
                if (finished == pending.Result.Task)
                    return await pending.Result.Task;
                await finished; // a cancelled wait throws here
                if (pending.Percent != reported)
                {
                    reported = pending.Percent;
                    await progress(reported);
                }
                if (DateTime.UtcNow - pending.LastHeard > timeout)
                    throw new TimeoutException();
            }
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable,
                $"cell '{Cell}' did not answer within {timeout.TotalSeconds:0} s{(progress is null ? "" : " of its last progress report")}"));
        }
        catch (OperationCanceledException) when (Closed.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CellDisconnectedException(Cell);
        }
        finally
        {
            _pending.TryRemove(command.Id, out _);
        }
    }

    public void Complete(CommandResult result)
    {
        if (_pending.TryRemove(result.Id, out var pending))
            pending.Result.TrySetResult(result);
    }

    /// <summary>A command's progress report: remembered for its waiter, and proof the cell still works on it.</summary>
    public void Progress(CommandProgress report)
    {
        if (_pending.TryGetValue(report.Id, out var pending))
        {
            pending.Percent = Math.Clamp(report.Percent, 0, 100);
            pending.LastHeard = DateTime.UtcNow;
            if (pending.Reported.CurrentCount == 0)
                pending.Reported.Release();
        }
    }

    /// <summary>Writes queued messages to the stream until it closes.</summary>
    public async Task PumpAsync(IServerStreamWriter<ConnectResponse> stream)
    {
        try
        {
            await foreach (var message in _outbound.Reader.ReadAllAsync(Closed))
                await stream.WriteAsync(message, Closed);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Close()
    {
        _outbound.Writer.TryComplete();
        _closed.Cancel();
    }

    private sealed class Pending
    {
        public TaskCompletionSource<CommandResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile int Percent;

        /// <summary>Signalled when a report arrives (at most one pending signal: reports in between coalesce).</summary>
        public SemaphoreSlim Reported { get; } = new(0, 1);

        public DateTime LastHeard { get; set; } = DateTime.UtcNow;
    }
}

/// <summary>The cell's stream ended before a command's result came (UNAVAILABLE): its agent may still be at work on it.</summary>
public sealed class CellDisconnectedException(string cell) : RpcException(new Status(StatusCode.Unavailable, $"cell '{cell}' disconnected"));
