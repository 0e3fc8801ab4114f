using System.Threading.Channels;

namespace Nano.Server.Domain;

/// <summary>
/// A watcher's place in a feed, taken when it is created: a watcher subscribes first and reads the current state after,
/// so a change published in between still reaches it. Disposing leaves the feed.
/// </summary>
public sealed class FeedSubscription<T>(ChannelReader<T> changes, Action leave) : IDisposable
{
    /// <summary>What was published since the subscription (a feed may coalesce or drop entries, never all of them).</summary>
    public ChannelReader<T> Changes => changes;

    public void Dispose() => leave();
}
