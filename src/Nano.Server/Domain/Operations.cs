using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;
using Nano.Server.Replicas;

namespace Nano.Server.Domain;

/// <summary>
/// The lifecycle of long work, in one place: an operation is a persisted row (pending, running, succeeded, failed,
/// cancelled) with stage and percent (<see cref="OperationProgress"/>, sub-ranges with <c>Within</c>/<c>Scaled</c>);
/// its work runs in the caller or on a background task; it is cancelled, finished and published here only; watchers
/// and waiters follow it through the change feed. The work's compensation runs inside the work itself when it fails
/// or is cancelled.
/// </summary>
public sealed class Operations
{
    private readonly OperationRepository rows;
    private readonly OperationFeed feed;
    private readonly ReplicaSignals signals;
    private readonly ILogger<Operations> logger;

    public Operations(OperationRepository rows, OperationFeed feed, ReplicaSignals signals, ILogger<Operations> logger)
    {
        (this.rows, this.feed, this.signals, this.logger) = (rows, feed, signals, logger);
        // A cancellation asked of another replica, for an operation this one runs.
        signals.On(ReplicaSignals.Cancel, payload =>
        {
            if (Guid.TryParse(payload, out var id) && _running.TryGetValue(id, out var cancel))
                cancel.Cancel();
        });
    }

    public const string Pending = "pending";
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    /// <summary>How often a watcher reads an operation's row again without a signal (a signal from another replica can be lost while the database's notifications are down).</summary>
    private static readonly TimeSpan OtherReplicaReadInterval = TimeSpan.FromSeconds(5);

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
                await Finish(id, Failed, Fail.Reason(e));
                throw;
            }
        }
        Resume(id, kind, work);
        return id;
    }

    /// <summary>
    /// Takes over an operation a dead replica left unfinished (recovery, before <see cref="AbandonOrphansAsync"/>): it is
    /// this replica's from now on, and <paramref name="work"/> ends it on a background task.
    /// </summary>
    public async Task ResumeAsync(Guid id, string kind, Func<OperationProgress, CancellationToken, Task> work)
    {
        await rows.ClaimAsync(id);
        Resume(id, kind, work);
    }

    /// <summary>Runs <paramref name="work"/> for a recorded operation of this replica on a background task, which ends it.</summary>
    private void Resume(Guid id, string kind, Func<OperationProgress, CancellationToken, Task> work)
    {
        var cancel = new CancellationTokenSource();
        _running[id] = cancel;
        _ = Task.Run(() => RunAsync(id, kind, work, cancel));
    }

    public Task<OperationRow?> FindAsync(Guid id) => rows.FindAsync(id);

    /// <summary>
    /// The error of the last failed operation of <paramref name="kind"/> on <paramref name="target"/> not told yet (told
    /// once). One still ending (its compensation ran, its end is being written) is waited for, briefly, so a reader never
    /// falls between the two.
    /// </summary>
    public async Task<string?> TakeFailureAsync(string kind, string target, string? user, CancellationToken cancellationToken)
    {
        if ((await rows.ListAsync(user, target, activeOnly: true, limit: 1)).FirstOrDefault(o => o.Kind == kind) is { } ending)
        {
            using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            patience.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                await WaitAsync(ending.Id, patience.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
        return await rows.TakeFailureAsync(kind, target, user);
    }

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

    /// <summary>
    /// Each state of an operation from now until it has finished: the current row first, then one per change the feed
    /// signals (changes may coalesce; those made on other replicas arrive through the database's notifications). The row
    /// is also read again every few seconds, for a notification lost while the database's notifications were down.
    /// </summary>
    public async IAsyncEnumerable<OperationRow> WatchAsync(Guid id, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Subscribed before the state is read: a change in between still signals.
        using var changes = feed.Subscribe(id);
        var current = await rows.FindAsync(id) ?? throw Fail.NotFound($"operation {id} not found");
        OperationRow? sent = null;
        while (true)
        {
            if (current != sent)
            {
                yield return current;
                sent = current;
            }
            if (current.FinishedAt is not null)
                yield break;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                wait.CancelAfter(OtherReplicaReadInterval);
                try
                {
                    if (await changes.Changes.WaitToReadAsync(wait.Token))
                        changes.Changes.TryRead(out _);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                }
            }
            current = await rows.FindAsync(id) ?? current;
        }
    }

    /// <summary>Waits until an operation has finished and returns its final row.</summary>
    public async Task<OperationRow> WaitAsync(Guid id, CancellationToken cancellationToken)
    {
        OperationRow? last = null;
        await foreach (var row in WatchAsync(id, cancellationToken))
            last = row;
        return last!;
    }

    /// <summary>
    /// Stops an operation: its work is cancelled (and ends it), here or, through the database's signal, on the live
    /// replica that runs it; one nothing runs any more just ends cancelled.
    /// </summary>
    public async Task CancelAsync(Guid id)
    {
        if (_running.TryGetValue(id, out var cancel))
            cancel.Cancel();
        else if (await rows.RunByAnotherLiveReplicaAsync(id))
            await signals.NotifyAsync(ReplicaSignals.Cancel, id.ToString());
        else
            await Finish(id, Cancelled, "cancelled");
    }

    /// <summary>Marks operations that dead replicas left unfinished as failed (nothing runs them any more).</summary>
    public async Task AbandonOrphansAsync()
    {
        foreach (var id in await rows.ListOrphanedAsync())
        {
            if (_running.ContainsKey(id))
                continue;
            await Finish(id, Failed, "the server stopped while this operation ran");
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
            var reason = Fail.Reason(e);
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

    /// <summary>Records the end; a database outage is waited out (an operation never stays running because its last write fell into one).</summary>
    private async Task Finish(Guid id, string state, string error)
    {
        await DatabaseFaults.WaitOutAsync(() => rows.FinishAsync(id, state, error));
        feed.Publish(id);
    }
}
