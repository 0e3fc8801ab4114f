namespace Nano.Server.Cells;

/// <summary>
/// Collects the names of cells that changed and hands them out as one set per interval at most, so a
/// watcher sends at most one update per cell per interval however often cells report.
/// </summary>
public sealed class CoalescedChanges : IAsyncDisposable
{
    private readonly HashSet<string> _pending = [];
    private readonly SemaphoreSlim _signal = new(0);
    private readonly TimeSpan _interval;
    private readonly CancellationToken _cancellationToken;
    private readonly Domain.FeedSubscription<string> _subscription;
    private readonly Task _collector;
    private DateTime _last = DateTime.UtcNow;

    /// <summary>Subscribes at once: a watcher creates this before it reads its first snapshot.</summary>
    public CoalescedChanges(CellStatusFeed feed, TimeSpan interval, CancellationToken cancellationToken)
    {
        _interval = interval;
        _cancellationToken = cancellationToken;
        _subscription = feed.Subscribe();
        _collector = Task.Run(async () =>
        {
            await foreach (var cell in _subscription.Changes.ReadAllAsync(cancellationToken))
            {
                lock (_pending)
                    _pending.Add(cell);
                if (_signal.CurrentCount == 0)
                    _signal.Release();
            }
        }, cancellationToken);
    }

    /// <summary>The cells changed since the last batch, no sooner than one interval after it; null once cancelled.</summary>
    public async Task<IReadOnlySet<string>?> NextAsync()
    {
        try
        {
            while (true)
            {
                await _signal.WaitAsync(_cancellationToken);
                var wait = _last + _interval - DateTime.UtcNow;
                if (wait > TimeSpan.Zero)
                    await Task.Delay(wait, _cancellationToken);
                _last = DateTime.UtcNow;
                lock (_pending)
                {
                    if (_pending.Count == 0)
                        continue;
                    var batch = _pending.ToHashSet();
                    _pending.Clear();
                    return batch;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _collector.ContinueWith(_ => { }, TaskScheduler.Default);
        _subscription.Dispose();
        _signal.Dispose();
    }
}
