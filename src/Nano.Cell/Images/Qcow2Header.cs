using System.Buffers.Binary;
using System.Text;

namespace Nano.Cell.Images;

/// <summary>Reads the backing file name from a qcow2 header (offset 8: its offset, 16: its length).</summary>
public static class Qcow2Header
{
    private static ReadOnlySpan<byte> Magic => [(byte)'Q', (byte)'F', (byte)'I', 0xfb];

    public static string? BackingFile(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            Span<byte> header = stackalloc byte[20];
            if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || !header[..4].SequenceEqual(Magic))
                return null;
            var offset = BinaryPrimitives.ReadInt64BigEndian(header[8..]);
            var length = BinaryPrimitives.ReadInt32BigEndian(header[16..]);
            if (offset <= 0 || length is <= 0 or > 4096)
                return null;
            var name = new byte[length];
            file.Position = offset;
            file.ReadExactly(name);
            var backing = Encoding.UTF8.GetString(name);
            return Path.IsPathRooted(backing) ? backing : Path.Combine(Path.GetDirectoryName(path) ?? "", backing);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
