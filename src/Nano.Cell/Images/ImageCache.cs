using Nano.Images;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Images;

/// <summary>
/// The cell's copies of image versions, in one folder: <c>&lt;id&gt;-&lt;sha256 prefix&gt;.qcow2|.iso</c>,
/// fetched once and shared by every guest that uses them (disk images as the read-only backing file of
/// copy-on-write overlays). A fetch writes <c>.part</c>, resumes from its end after a broken transfer,
/// checks the SHA-256 and only then takes the final name. A cached image is removed only when nothing
/// uses it any more: no overlay has a disk image as backing file, no CD-ROM drive holds a media image.
/// </summary>
public sealed class ImageCache(string folder, IImageSource source, ILogger logger, string qemuUser = HostFiles.DefaultQemuUser)
{
    private const int Attempts = 5;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _fetching = new();

    /// <summary>Cached files in use (being fetched or having an overlay built over them), with their number of users.</summary>
    private readonly Dictionary<string, int> _uses = [];

    public string Folder { get; } = folder;

    public string PathOf(CachedImage image, string extension) =>
        Path.Combine(Folder, $"{Guid.Parse(image.Id):D}-{Version(image)}{extension}");

    /// <summary>
    /// Runs <paramref name="use"/> with the cached file of <paramref name="image"/> (fetched first if missing;
    /// <paramref name="progress"/> gets 0-100 meanwhile). While it runs the file is not swept, so an overlay
    /// being built over it is safe.
    /// </summary>
    public async Task<T> UseAsync<T>(CachedImage image, string extension, Action<int> progress, Func<string, Task<T>> use, CancellationToken cancellationToken)
    {
        var path = PathOf(image, extension);
        lock (_uses)
            _uses[path] = _uses.GetValueOrDefault(path) + 1;
        try
        {
            return await use(await EnsureAsync(image, path, progress, cancellationToken));
        }
        finally
        {
            lock (_uses)
            {
                if (--_uses[path] == 0)
                    _uses.Remove(path);
            }
        }
    }

    public Task UseAsync(CachedImage image, string extension, Action<int> progress, Func<string, Task> use, CancellationToken cancellationToken) =>
        UseAsync(image, extension, progress, async path =>
        {
            await use(path);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Removes cached images nothing uses: a disk image that none of <paramref name="volumes"/> (qcow2 files,
    /// missing ones ignored) has as backing file, a media image that is none of them (not in a CD-ROM drive),
    /// unless a use holds it. One lock covers the scan and the deletions, so an overlay finished meanwhile is always seen.
    /// </summary>
    public void Sweep(IEnumerable<string> volumes)
    {
        if (!Directory.Exists(Folder))
            return;
        lock (_uses)
        {
            var files = volumes.Where(File.Exists).Select(Path.GetFullPath).ToList();
            var used = files.Where(f => f.EndsWith(".qcow2", StringComparison.Ordinal))
                .Select(Qcow2Header.BackingFile)
                .OfType<string>()
                .Select(Path.GetFullPath)
                .Concat(files)
                .ToHashSet(StringComparer.Ordinal);
            foreach (var cached in Directory.EnumerateFiles(Folder).Where(f => f.EndsWith(".qcow2", StringComparison.Ordinal) || f.EndsWith(".iso", StringComparison.Ordinal)).ToList())
            {
                if (used.Contains(Path.GetFullPath(cached)) || _uses.ContainsKey(cached))
                    continue;
                File.Delete(cached);
                logger.LogInformation("Removed cached image {File}: nothing uses it", Path.GetFileName(cached));
            }
        }
    }

    private async Task<string> EnsureAsync(CachedImage image, string path, Action<int> progress, CancellationToken cancellationToken)
    {
        if (File.Exists(path))
            return path;
        var gate = _fetching.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!File.Exists(path))
                await FetchAsync(image, path, progress, cancellationToken);
            return path;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task FetchAsync(CachedImage image, string path, Action<int> progress, CancellationToken cancellationToken)
    {
        var unreachable = HostFiles.LetQemuIn(Folder, qemuUser);
        if (unreachable.Length > 0)
            throw new InvalidOperationException(unreachable);
        var part = path + ".part";
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = new FileStream(part, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.Asynchronous);
        // A partial copy from an earlier attempt is hashed and resumed, not fetched again.
        await HashExistingAsync(file, hash, cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            var offset = file.Length;
            try
            {
                var lastPercent = -1;
                await source.FetchAsync(image, offset, async chunk =>
                {
                    hash.AppendData(chunk.Span);
                    await file.WriteAsync(chunk, cancellationToken);
                    var percent = image.Size > 0 ? (int)(file.Length * 100 / image.Size) : 100;
                    if (percent != lastPercent)
                        progress(lastPercent = percent);
                }, cancellationToken);
                break;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown && attempt < Attempts)
            {
                logger.LogWarning("Fetching image {Image} broke at {Offset} bytes ({Reason}); resuming", image.Id, file.Length, e.Status.Detail);
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
        await file.FlushAsync(cancellationToken);
        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (file.Length != image.Size || actual != image.Sha256)
        {
            var size = file.Length;
            await file.DisposeAsync();
            File.Delete(part);
            throw new InvalidOperationException(
                $"image {image.Id} arrived damaged: {size} bytes with SHA-256 {actual}, expected {image.Size} bytes with {image.Sha256}");
        }
        await file.DisposeAsync();
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(part, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(part, path);
        logger.LogInformation("Cached image {Image} ({Size} bytes) as {File}", image.Id, image.Size, Path.GetFileName(path));
    }

    private static async Task HashExistingAsync(FileStream file, IncrementalHash hash, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 20];
        int read;
        file.Position = 0;
        while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
            hash.AppendData(buffer, 0, read);
    }

    /// <summary>Only hex digits reach the file name, whatever the server sent.</summary>
    private static string Version(CachedImage image) =>
        image.Sha256.Length >= 16 && image.Sha256.All(Uri.IsHexDigit)
            ? image.Sha256[..16].ToLowerInvariant()
            : throw new ArgumentException($"image {image.Id} has no valid SHA-256");
}
