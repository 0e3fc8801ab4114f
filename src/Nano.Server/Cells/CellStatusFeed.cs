using System.Threading.Channels;

namespace Nano.Server.Cells;

/// <summary>Tells watchers which cell changed (metrics or liveness); each subscriber gets its own queue.</summary>
public sealed class CellStatusFeed
{
    private readonly Lock _gate = new();
    private readonly List<Channel<string>> _subscribers = [];

    public void Publish(string cell)
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
}
