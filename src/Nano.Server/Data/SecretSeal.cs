using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Nano.Server.Hosting;

namespace Nano.Server.Data;

/// <summary>
/// Guests' console and administrator passwords are stored sealed (AES-256-GCM) under a key kept beside the data, in
/// <c>&lt;DataDir&gt;/secrets.key</c> (mode 0600, made on first use): a copy of the database, a backup or another
/// local account reading it does not give them away. The API still hands them out where the document says so. Server
/// replicas share the key file. A value stored before sealing existed reads as it is until it is sealed at start.
/// </summary>
public sealed class SecretSeal
{
    public const string Prefix = "sealed:v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    /// <summary>The key's file.</summary>
    public string KeyPath { get; }

    public SecretSeal(IOptions<NanoOptions> options)
    {
        var path = KeyPath = Path.Combine(Path.GetFullPath(options.Value.DataDir), "secrets.key");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path))
        {
            try
            {
                using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
                if (!OperatingSystem.IsWindows())
                    File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                file.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))));
                file.Flush(flushToDisk: true);
            }
            catch (IOException) when (File.Exists(path))
            {
                // another server process made it first
            }
        }
        _key = ReadKey(path);
    }

    /// <summary>
    /// The key in <paramref name="path"/>. A replica starting beside another on a new data folder may find the file the
    /// other has just created and not yet written: a file younger than a few seconds is read again until it holds a key.
    /// </summary>
    private static byte[] ReadKey(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            var text = File.ReadAllText(path).Trim();
            var key = new byte[32];
            if (Convert.TryFromBase64String(text, key, out var length) && length == 32)
                return key;
            if (attempt >= 100 || DateTime.UtcNow - File.GetLastWriteTimeUtc(path) > TimeSpan.FromSeconds(5))
                throw new InvalidOperationException($"{path} holds no 256-bit key");
            Thread.Sleep(50);
        }
    }

    /// <summary>A fingerprint of the key (an HMAC of a fixed text under it), which tells keys apart without giving one away.</summary>
    public string Fingerprint => Convert.ToHexStringLower(HMACSHA256.HashData(_key, "nano secrets key check"u8));

    /// <summary>The stored form of a secret ("" stays "").</summary>
    public string Seal(string plain)
    {
        if (plain.Length == 0)
            return "";
        var text = Encoding.UTF8.GetBytes(plain);
        var sealedBytes = new byte[NonceSize + TagSize + text.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, text, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize));
        return Prefix + Convert.ToBase64String(sealedBytes);
    }

    /// <summary>The secret a stored value holds.</summary>
    public string Open(string stored)
    {
        if (!stored.StartsWith(Prefix, StringComparison.Ordinal))
            return stored;
        var sealedBytes = Convert.FromBase64String(stored[Prefix.Length..]);
        var text = new byte[sealedBytes.Length - NonceSize - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        try
        {
            aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), text);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new InvalidOperationException("a stored secret was sealed under another key than this data folder's secrets.key");
        }
        return Encoding.UTF8.GetString(text);
    }

    /// <summary>Whether a stored value needs no sealing: sealed already, or empty (no secret).</summary>
    public static bool IsSealed(string stored) => stored.Length == 0 || stored.StartsWith(Prefix, StringComparison.Ordinal);
}
