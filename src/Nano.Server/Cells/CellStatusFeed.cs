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

    /// <summary>Names of changed cells until <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<string> SubscribeAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });
        lock (_gate)
            _subscribers.Add(channel);
        try
        {
            await foreach (var cell in channel.Reader.ReadAllAsync(cancellationToken))
                yield return cell;
        }
        finally
        {
            lock (_gate)
                _subscribers.Remove(channel);
        }
    }
}
