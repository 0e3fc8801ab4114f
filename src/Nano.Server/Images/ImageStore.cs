using System.Buffers;
using Grpc.Core;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;
using Nano.Server.Replicas;

namespace Nano.Server.Images;

/// <summary>What a finished write produced: the temporary file, ready to take an image's place, and its checksums.</summary>
public sealed record StagedContent(string TempPath, long Size, string Sha256, string Sha1);

/// <summary>
/// The image store's files: <c>&lt;store&gt;/&lt;id&gt;.iso</c> or <c>.qcow2</c>, written through a
/// temporary file in <c>&lt;store&gt;/.incoming</c> and renamed into place only when complete, so a
/// broken upload never shows. Files dropped into <c>&lt;store&gt;/import</c> are picked up by synchronisation.
/// </summary>
public sealed class ImageStore
{
    public const int ChunkSize = 1 << 20;

    /// <summary>Free space is looked at again after every this many bytes.</summary>
    private const long SpaceCheckBytes = 64L << 20;

    private readonly NanoOptions _options;

    public ImageStore(IOptions<NanoOptions> options, ReplicaIdentity self)
    {
        var o = _options = options.Value;
        Root = Path.GetFullPath(string.IsNullOrEmpty(o.ImageStore) ? Path.Combine(o.DataDir, "images") : o.ImageStore);
        Incoming = Path.Combine(IncomingRoot, self.Id.ToString("N"));
        Directory.CreateDirectory(Incoming);
        Directory.CreateDirectory(ImportFolder);
    }

    public string Root { get; }

    public string ImportFolder => Path.Combine(Root, "import");

    /// <summary>Where files on their way in are written: a folder per replica, so recovery removes only a dead replica's.</summary>
    private string IncomingRoot => Path.Combine(Root, ".incoming");

    /// <summary>This replica's folder under <see cref="IncomingRoot"/>.</summary>
    private string Incoming { get; }

    public static string Extension(string kind) => kind == ImageKinds.Media ? ".iso" : ".qcow2";

    /// <summary>The largest image a user may upload (cells' pushes are not capped).</summary>
    public long MaxUploadBytes => _options.MaxUploadBytes;

    public string PathOf(string kind, Guid id) => Path.Combine(Root, id.ToString("D") + Extension(kind));

    /// <summary>
    /// Copies <paramref name="source"/> to a new temporary file, hashing as it goes; the file is deleted when the copy fails.
    /// The source reads with the token it is given: it is cancelled when nothing arrived for <see cref="NanoOptions.UploadIdleSeconds"/>
    /// (a stalled sender fails with DEADLINE_EXCEEDED instead of holding the image for ever). More than
    /// <paramref name="maxBytes"/> fails with INVALID_ARGUMENT, and so does a sender whose announced size exceeds it; leaving
    /// less than <see cref="NanoOptions.UploadReserveBytes"/> free on the store's file system fails with UNAVAILABLE.
    /// </summary>
    public async Task<StagedContent> StageAsync(Func<Func<ReadOnlyMemory<byte>, ValueTask>, CancellationToken, Task> source,
        CancellationToken cancellationToken, long? maxBytes = null, long? announced = null)
    {
        if (announced > maxBytes)
            throw TooLarge(maxBytes.Value);
        RequireSpace(announced ?? 0);
        var idle = TimeSpan.FromSeconds(_options.UploadIdleSeconds);
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(idle);
        var temp = Path.Combine(Incoming, $"{Guid.NewGuid():N}.part");
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        long size = 0;
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                await source(async chunk =>
                {
                    stall.CancelAfter(idle);
                    if (size + chunk.Length > maxBytes)
                        throw TooLarge(maxBytes.Value);
                    if ((size + chunk.Length) / SpaceCheckBytes != size / SpaceCheckBytes)
                        RequireSpace(SpaceCheckBytes);
                    sha256.AppendData(chunk.Span);
                    sha1.AppendData(chunk.Span);
                    size += chunk.Length;
                    await file.WriteAsync(chunk, cancellationToken);
                }, stall.Token);
                await file.FlushAsync(cancellationToken);
            }
            return new StagedContent(temp, size, Convert.ToHexStringLower(sha256.GetHashAndReset()), Convert.ToHexStringLower(sha1.GetHashAndReset()));
        }
        catch (OperationCanceledException) when (stall.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            File.Delete(temp);
            throw Fail.TimedOut($"the transfer stalled: nothing arrived for {_options.UploadIdleSeconds} s");
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Stages everything a stream holds.</summary>
    public Task<StagedContent> StageAsync(Stream body, CancellationToken cancellationToken, long? maxBytes = null, long? announced = null) =>
        StageAsync(async (write, token) =>
        {
            var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
            try
            {
                int read;
                // Whole chunks: a request body arrives in pieces of a few KiB, each write of which would be a system call.
                while ((read = await body.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, token)) > 0)
                    await write(buffer.AsMemory(0, read));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }, cancellationToken, maxBytes, announced);

    /// <summary>Refuses to take <paramref name="more"/> bytes when that would leave less than the reserve free.</summary>
    private void RequireSpace(long more)
    {
        var free = new DriveInfo(Root).AvailableFreeSpace;
        if (free - more < _options.UploadReserveBytes)
            throw Fail.Unavailable(
                $"the image store is short of space: {free} bytes free, and {_options.UploadReserveBytes} are kept in reserve (Nano:UploadReserveBytes)");
    }

    private static RpcException TooLarge(long max) => Fail.Invalid($"the upload is too large: at most {max} bytes (Nano:MaxUploadBytes)");

    /// <summary>The staged file becomes the image's content (an atomic rename; readers of the old file keep it).</summary>
    public void Commit(StagedContent staged, string kind, Guid id) => File.Move(staged.TempPath, PathOf(kind, id), overwrite: true);

    public static void Discard(StagedContent? staged)
    {
        if (staged is not null)
            File.Delete(staged.TempPath);
    }

    public void Delete(string kind, Guid id) => File.Delete(PathOf(kind, id));

    /// <summary>
    /// The staged files replicas that are not among <paramref name="alive"/> left half-written (nothing finishes them; their
    /// images stay without content, as before the upload), with the folders they were in. Returns how many were removed.
    /// </summary>
    public int SweepStaged(IReadOnlySet<Guid> alive)
    {
        var removed = 0;
        foreach (var folder in Directory.GetDirectories(IncomingRoot))
        {
            if (Guid.TryParseExact(Path.GetFileName(folder), "N", out var replica) && alive.Contains(replica))
                continue;
            removed += Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Length;
            Directory.Delete(folder, recursive: true);
        }
        foreach (var file in Directory.GetFiles(IncomingRoot, "*.part")) // staged before replicas had folders of their own
        {
            File.Delete(file);
            removed++;
        }
        return removed;
    }

    /// <summary>A file opened for reading from <paramref name="offset"/> (0 up to its length).</summary>
    public static FileStream OpenAt(string path, long offset)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        if (offset >= 0 && offset <= file.Length)
        {
            file.Position = offset;
            return file;
        }
        var length = file.Length;
        file.Dispose();
        throw Fail.Invalid($"offset {offset} is outside the content (0-{length})");
    }

    /// <summary>A file's bytes from its position, in store-sized chunks.</summary>
    public static async IAsyncEnumerable<(long Offset, Google.Protobuf.ByteString Chunk)> ReadChunksAsync(
        FileStream file, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            while (true)
            {
                var offset = file.Position;
                var read = await file.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, cancellationToken);
                if (read == 0)
                    yield break;
                yield return (offset, Google.Protobuf.ByteString.CopyFrom(buffer, 0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Hashes an existing file (synchronisation of dropped files).</summary>
    public static async Task<(long Size, string Sha256, string Sha1)> HashAsync(string path, CancellationToken cancellationToken)
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            long size = 0;
            int read;
            while ((read = await file.ReadAsync(buffer.AsMemory(0, ChunkSize), cancellationToken)) > 0)
            {
                sha256.AppendData(buffer, 0, read);
                sha1.AppendData(buffer, 0, read);
                size += read;
            }
            return (size, Convert.ToHexStringLower(sha256.GetHashAndReset()), Convert.ToHexStringLower(sha1.GetHashAndReset()));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>The two image kinds, as stored.</summary>
public static class ImageKinds
{
    public const string Media = "media";
    public const string Disk = "disk";
}
