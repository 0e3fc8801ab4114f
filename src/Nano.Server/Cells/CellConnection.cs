using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Nano.Contracts.Cell.V1;

namespace Nano.Server.Cells;

/// <summary>One agent's live stream: an outbound queue (one writer) and the commands waiting for results.</summary>
public sealed class CellConnection(string cell, CancellationToken callEnded)
{
    private readonly Channel<ConnectResponse> _outbound = Channel.CreateUnbounded<ConnectResponse>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CommandResult>> _pending = new();
    private readonly CancellationTokenSource _closed = CancellationTokenSource.CreateLinkedTokenSource(callEnded);

    public string Cell { get; } = cell;

    /// <summary>When the stream was admitted.</summary>
    public DateTime OpenedAt { get; } = DateTime.UtcNow;

    /// <summary>Cancelled when the stream ends or the server drops it (silence, replacement by a newer stream).</summary>
    public CancellationToken Closed => _closed.Token;

    /// <summary>Heartbeats are written to the database at most this often.</summary>
    public DateTime LastTouch { get; set; } = DateTime.UtcNow;

    public void Send(ConnectResponse message)
    {
        if (!_outbound.Writer.TryWrite(message))
            throw new RpcException(new Status(StatusCode.Unavailable, $"cell '{Cell}' is disconnecting"));
    }

    /// <summary>Sends a command and waits for its result until the command's deadline.</summary>
    public async Task<CommandResult> RunAsync(Command command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource<CommandResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[command.Id] = waiter;
        try
        {
            Send(new ConnectResponse { Command = command });
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Closed);
            return await waiter.Task.WaitAsync(timeout, linked.Token);
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"cell '{Cell}' did not answer within {timeout.TotalSeconds:0} s"));
        }
        catch (OperationCanceledException) when (Closed.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"cell '{Cell}' disconnected"));
        }
        finally
        {
            _pending.TryRemove(command.Id, out _);
        }
    }

    public void Complete(CommandResult result)
    {
        if (_pending.TryRemove(result.Id, out var waiter))
            waiter.TrySetResult(result);
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
}
