using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Images;

/// <summary>Where image bytes come from and exported disks go: the server's image store.</summary>
public interface IImageSource
{
    /// <summary>Streams <paramref name="image"/> from <paramref name="offset"/> into <paramref name="write"/>.</summary>
    Task FetchAsync(CachedImage image, long offset, Func<ReadOnlyMemory<byte>, ValueTask> write, CancellationToken cancellationToken);

    /// <summary>Streams the file staged under an export ticket (another cell's volume) from <paramref name="offset"/>.</summary>
    Task FetchStagedAsync(string ticket, long offset, Func<ReadOnlyMemory<byte>, ValueTask> write, CancellationToken cancellationToken);

    /// <summary>Sends a file to the server against an export ticket; calls <paramref name="sent"/> with the bytes sent so far.</summary>
    Task PushAsync(string ticket, string path, Action<long> sent, CancellationToken cancellationToken);
}
