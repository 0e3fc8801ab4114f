using Nano.Server.Replicas;
using System.Threading.Channels;

namespace Nano.Server.Domain;

/// <summary>
/// Tells watchers that an operation changed; each watcher subscribes to one operation. Changes made on other replicas
/// come from the database's signal (<see cref="ReplicaSignals"/>), and a resync of the signals wakes every watcher.
/// </summary>
public sealed class OperationFeed
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, List<Channel<bool>>> _watchers = [];

    public OperationFeed(ReplicaSignals signals)
    {
        signals.On(ReplicaSignals.Operations, payload =>
        {
            if (Guid.TryParse(payload, out var id))
                Publish(id);
        });
        signals.Resynced += () =>
        {
            Guid[] watched;
            lock (_gate)
                watched = [.. _watchers.Keys];
            foreach (var id in watched)
                Publish(id);
        };
    }

    public void Publish(Guid id)
    {
        lock (_gate)
        {
            if (_watchers.TryGetValue(id, out var list))
            {
                foreach (var watcher in list)
                    watcher.Writer.TryWrite(true);
            }
        }
    }

    /// <summary>From now on, a signal per change of <paramref name="id"/> (changes may coalesce) until disposed.</summary>
    public FeedSubscription<bool> Subscribe(Guid id)
    {
        var channel = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        lock (_gate)
        {
            if (!_watchers.TryGetValue(id, out var list))
                _watchers[id] = list = [];
            list.Add(channel);
        }
        return new FeedSubscription<bool>(channel.Reader, () =>
        {
            lock (_gate)
            {
                if (_watchers.TryGetValue(id, out var list) && list.Remove(channel) && list.Count == 0)
                    _watchers.Remove(id);
            }
        });
    }
}
