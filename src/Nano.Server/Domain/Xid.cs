using System.Security.Cryptography;

namespace Nano.Server.Domain;

/// <summary>Template ids: 20 characters of base32hex (0-9, a-v) over 4 bytes of time, 5 random bytes and a counter.</summary>
public static class Xid
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuv";
    private static int _counter = RandomNumberGenerator.GetInt32(1 << 24);

    public static string New()
    {
        Span<byte> raw = stackalloc byte[12];
        var seconds = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        raw[0] = (byte)(seconds >> 24);
        raw[1] = (byte)(seconds >> 16);
        raw[2] = (byte)(seconds >> 8);
        raw[3] = (byte)seconds;
        RandomNumberGenerator.Fill(raw.Slice(4, 5));
        var counter = Interlocked.Increment(ref _counter);
        raw[9] = (byte)(counter >> 16);
        raw[10] = (byte)(counter >> 8);
        raw[11] = (byte)counter;
        var value = new System.Numerics.BigInteger(raw, isUnsigned: true, isBigEndian: true);
        Span<char> text = stackalloc char[20];
        for (var i = 19; i >= 0; i--)
        {
            text[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }
        return new string(text);
    }

    public static bool IsValid(string? id) => id is { Length: 20 } && id.All(c => Alphabet.Contains(c));
}
