using System.Collections.Concurrent;
using Nano.Server.Data;

namespace Nano.Server.Domain;

/// <summary>
/// Runs long work as operations: a persisted row (pending, running, succeeded, failed, cancelled)
/// with stage and percent, the work on a background task, cancellation, and a change feed for
/// watchers. The work's compensation runs inside the work itself when it fails or is cancelled.
/// </summary>
public sealed class Operations(OperationRepository rows, OperationFeed feed, ILogger<Operations> logger)
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> _running = new();

    /// <summary>
    /// Records an operation and starts <paramref name="work"/> on a background task; returns its id at once.
    /// <paramref name="prepare"/>, when given, runs first in the caller (the request), with the new id: if it
    /// throws, the operation ends failed and the exception reaches the caller.
    /// </summary>
    public async Task<Guid> StartAsync(string kind, string target, string user, Func<OperationProgress, CancellationToken, Task> work,
        Func<Guid, Task>? prepare = null)
    {
        var id = Guid.NewGuid();
        await rows.CreateAsync(id, kind, target, user);
        if (prepare is not null)
        {
            try
            {
                await prepare(id);
            }
            catch (Exception e)
            {
                await Finish(id, Failed, e is Grpc.Core.RpcException r ? r.Status.Detail : e.Message);
                throw;
            }
        }
        var cancel = new CancellationTokenSource();
        _running[id] = cancel;
        _ = Task.Run(() => RunAsync(id, kind, work, cancel));
        return id;
    }

    public Task<OperationRow?> FindAsync(Guid id) => rows.FindAsync(id);

    /// <summary>Records an operation and runs <paramref name="work"/> to its end in the caller; a failure is rethrown.</summary>
    public async Task RunAsync(string kind, string target, string user, Func<OperationProgress, CancellationToken, Task> work, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid();
        await rows.CreateAsync(id, kind, target, user);
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _running[id] = cancel;
        if (await RunAsync(id, kind, work, cancel) is { } failure)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>Waits until an operation has finished and returns its final row.</summary>
    public async Task<OperationRow> WaitAsync(Guid id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var row = await rows.FindAsync(id) ?? throw Fail.NotFound($"operation {id} not found");
            if (row.FinishedAt is not null)
                return row;
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    /// <summary>Asks a running operation of this server to stop; false when it is not running here.</summary>
    public bool Cancel(Guid id)
    {
        if (!_running.TryGetValue(id, out var cancel))
            return false;
        cancel.Cancel();
        return true;
    }

    /// <summary>Marks operations that a stopped server left unfinished as failed (nothing runs them any more).</summary>
    public async Task AbandonOrphansAsync()
    {
        foreach (var id in await rows.ListUnfinishedAsync())
        {
            if (_running.ContainsKey(id))
                continue;
            await rows.FinishAsync(id, Failed, "the server stopped while this operation ran");
            feed.Publish(id);
        }
    }

    /// <summary>Runs the work and records how it ended; returns the failure (null on success).</summary>
    private async Task<Exception?> RunAsync(Guid id, string kind, Func<OperationProgress, CancellationToken, Task> work, CancellationTokenSource cancel)
    {
        var progress = new OperationProgress(id, rows, feed);
        try
        {
            await work(progress, cancel.Token);
            await Finish(id, Succeeded, "");
            return null;
        }
        catch (OperationCanceledException e) when (cancel.IsCancellationRequested)
        {
            await Finish(id, Cancelled, "cancelled");
            return e;
        }
        catch (Exception e)
        {
            var reason = e is Grpc.Core.RpcException r ? r.Status.Detail : e.Message;
            logger.LogWarning("Operation {Kind} {Id} failed: {Reason}", kind, id, reason);
            await Finish(id, Failed, reason);
            return e;
        }
        finally
        {
            _running.TryRemove(id, out _);
            cancel.Dispose();
        }
    }

    private async Task Finish(Guid id, string state, string error)
    {
        await rows.FinishAsync(id, state, error);
        feed.Publish(id);
    }
}
