using System.Security.Cryptography;
using Grpc.Core;
using Nano.Cell.Images;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Tests;

/// <summary>
/// Test double of the server's image store: serves local files by image id (optionally breaking a
/// transfer once after some bytes, as a dropped connection would) and keeps what is pushed.
/// </summary>
internal sealed class FileImageSource : IImageSource
{
    private readonly Dictionary<string, string> _files = [];

    /// <summary>Break the next fetch with UNAVAILABLE after this many bytes (0: never).</summary>
    public long BreakAfter { get; set; }

    public List<long> FetchOffsets { get; } = [];

    public Dictionary<string, byte[]> Pushed { get; } = [];

    public CachedImage Add(string path)
    {
        var id = Guid.NewGuid().ToString();
        _files[id] = path;
        var bytes = File.ReadAllBytes(path);
        return new CachedImage { Id = id, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)), Size = bytes.Length };
    }

    public async Task FetchAsync(CachedImage image, long offset, Func<ReadOnlyMemory<byte>, ValueTask> write, CancellationToken cancellationToken)
    {
        FetchOffsets.Add(offset);
        var bytes = await File.ReadAllBytesAsync(_files[image.Id], cancellationToken);
        var breakAt = BreakAfter > 0 ? offset + BreakAfter : long.MaxValue;
        BreakAfter = 0;
        for (var at = offset; at < bytes.Length; at += 4096)
        {
            if (at >= breakAt)
                throw new RpcException(new Status(StatusCode.Unavailable, "connection dropped (test)"));
            await write(bytes.AsMemory((int)at, (int)Math.Min(4096, bytes.Length - at)));
        }
    }

    public async Task FetchStagedAsync(string ticket, long offset, Func<ReadOnlyMemory<byte>, ValueTask> write, CancellationToken cancellationToken) =>
        await write(Pushed[ticket].AsMemory((int)offset));

    public async Task PushAsync(string ticket, string path, Action<long> sent, CancellationToken cancellationToken)
    {
        Pushed[ticket] = await File.ReadAllBytesAsync(path, cancellationToken);
        sent(Pushed[ticket].Length);
    }
}
