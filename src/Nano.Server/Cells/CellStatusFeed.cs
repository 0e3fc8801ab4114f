using System.Threading.Channels;
using Nano.Server.Replicas;

namespace Nano.Server.Cells;

/// <summary>
/// Tells watchers which cell changed (metrics or liveness); each subscriber gets its own queue. A change this replica
/// learns (from the streams it holds) reaches its own watchers at once and the other replicas' through the database: the
/// names changed here are sent every half second as one signal (<see cref="ReplicaSignals.Cells"/>), however often cells
/// report, so thousands of cells cost a couple of notifications a second.
/// </summary>
public sealed class CellStatusFeed : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly Lock _gate = new();
    private readonly List<Channel<string>> _subscribers = [];
    private readonly HashSet<string> _outgoing = [];
    private readonly ReplicaSignals _signals;
    private readonly string _prefix;

    public CellStatusFeed(ReplicaSignals signals, ReplicaIdentity self)
    {
        _signals = signals;
        _prefix = $"{self.Id:N}|";
        signals.On(ReplicaSignals.Cells, payload =>
        {
            if (payload.StartsWith(_prefix, StringComparison.Ordinal) || payload.IndexOf('|') is not (> 0 and var bar))
                return; // this replica's own, told already
            foreach (var cell in payload[(bar + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
                PublishHere(cell);
        });
    }

    /// <summary>A cell changed: watchers on every replica are told.</summary>
    public void Publish(string cell)
    {
        PublishHere(cell);
        lock (_outgoing)
            _outgoing.Add(cell);
    }

    private void PublishHere(string cell)
    {
        lock (_gate)
        {
            foreach (var subscriber in _subscribers)
                subscriber.Writer.TryWrite(cell);
        }
    }

    /// <summary>From now on, the names of changed cells until disposed.</summary>
    public Domain.FeedSubscription<string> Subscribe()
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate)
            _subscribers.Add(channel);
        return new Domain.FeedSubscription<string>(channel.Reader, () =>
        {
            lock (_gate)
                _subscribers.Remove(channel);
        });
    }

    /// <summary>Sends the names changed here to the other replicas, every half second.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            string[] changed;
            lock (_outgoing)
            {
                changed = [.. _outgoing];
                _outgoing.Clear();
            }
            try
            {
                foreach (var payload in ReplicaSignals.Payloads(_prefix, changed))
                    await _signals.NotifyAsync(ReplicaSignals.Cells, payload);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The other replicas' watchers miss this turn's names; the next changes of those cells reach them.
            }
        }
    }
}
