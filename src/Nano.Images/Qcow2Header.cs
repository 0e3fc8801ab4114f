using System.Buffers.Binary;
using System.Text;

namespace Nano.Images;

/// <summary>What a qcow2 header says of the files an image reads besides itself.</summary>
/// <param name="Version">2 or 3.</param>
/// <param name="BackingFile">The backing file it names (resolved against the image's folder), or null.</param>
/// <param name="ExternalData">Whether its data lives in another file (the external data file feature).</param>
public sealed record Qcow2Info(int Version, string? BackingFile, bool ExternalData);

/// <summary>
/// Reads a qcow2 header (QEMU's qcow2 specification: big-endian fields, version 2 or 3, header extensions after the
/// header) without running qemu-img, which would follow whatever files the header names. An image a user or another
/// cell hands over must stand alone: no backing file, no external data file, nothing encrypted and no feature this
/// reader does not know; <see cref="Refusal"/> says why one does not.
/// </summary>
public static class Qcow2Header
{
    private const int V2Length = 72;
    private const int V3MinimumLength = 104;
    private const int HeaderArea = 64 << 10;
    private const uint ExtensionEnd = 0;
    private const uint ExtensionExternalDataFile = 0x44415441;
    private const ulong IncompatibleExternalData = 1 << 2;

    /// <summary>The incompatible features QEMU defines today: dirty, corrupt, external data, compression type, extended L2.</summary>
    private const ulong KnownIncompatible = 0b1_1111;

    private static ReadOnlySpan<byte> Magic => [(byte)'Q', (byte)'F', (byte)'I', 0xfb];

    /// <summary>The header of a qcow2 file; null when the file is not one (or its header is damaged).</summary>
    public static Qcow2Info? Read(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            return Read(file, Path.GetDirectoryName(path) ?? "");
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The backing file a qcow2 file names, or null (none, or not a qcow2 file).</summary>
    public static string? BackingFile(string path) => Read(path)?.BackingFile;

    /// <summary>
    /// Why a file may not be used as a standalone qcow2 image (a disk image, a data volume), or null when it may:
    /// it must be qcow2 version 2 or 3, name no backing file (unless <paramref name="backingAllowed"/>) and no
    /// external data file, and use no encryption or feature unknown here.
    /// </summary>
    public static string? Refusal(string path, bool backingAllowed = false)
    {
        try
        {
            using var file = File.OpenRead(path);
            return Refusal(file, backingAllowed);
        }
        catch (IOException e)
        {
            return $"cannot read it: {e.Message}";
        }
    }

    private static string? Refusal(Stream file, bool backingAllowed)
    {
        // The header and its extensions fit in the first cluster (at least 512 bytes; QEMU's feature table alone may pass that).
        var header = new byte[HeaderArea];
        var read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < V2Length || !header.AsSpan(0, 4).SequenceEqual(Magic))
            return "it is not a qcow2 file";
        var version = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        if (version is not (2 or 3))
            return $"qcow2 version {version} is not supported";
        if (!backingAllowed && (BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8)) != 0 || BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)) != 0))
            return "it names a backing file: an image must stand alone";
        if (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(32)) != 0)
            return "it is encrypted";
        if (version == 2)
            return null;
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(100));
        if (read < V3MinimumLength || length < V3MinimumLength || length > read - 8)
            return "its qcow2 header is damaged";
        var incompatible = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(72));
        if ((incompatible & IncompatibleExternalData) != 0)
            return "it keeps its data in an external file";
        if ((incompatible & ~KnownIncompatible) != 0)
            return $"it uses unknown qcow2 features (0x{incompatible:x})";
        for (var at = (int)((length + 7) & ~7u); ; )
        {
            if (at + 8 > read)
                return "its qcow2 header extensions are damaged";
            var type = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(at));
            var size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(at + 4));
            if (type == ExtensionEnd)
                return null;
            if (type == ExtensionExternalDataFile)
                return "it names an external data file";
            if (size > read)
                return "its qcow2 header extensions are damaged";
            at += 8 + (int)((size + 7) & ~7u);
        }
    }

    private static Qcow2Info? Read(Stream file, string folder)
    {
        Span<byte> header = stackalloc byte[V3MinimumLength];
        var read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < V2Length || !header[..4].SequenceEqual(Magic))
            return null;
        var version = (int)BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        var offset = BinaryPrimitives.ReadInt64BigEndian(header[8..]);
        var length = BinaryPrimitives.ReadInt32BigEndian(header[16..]);
        var externalData = version >= 3 && read >= V3MinimumLength && (BinaryPrimitives.ReadUInt64BigEndian(header[72..]) & IncompatibleExternalData) != 0;
        string? backing = null;
        if (offset > 0 && length is > 0 and <= 4096)
        {
            var name = new byte[length];
            file.Position = offset;
            file.ReadExactly(name);
            var named = Encoding.UTF8.GetString(name);
            backing = Path.IsPathRooted(named) ? named : Path.Combine(folder, named);
        }
        return new Qcow2Info(version, backing, externalData);
    }
}
