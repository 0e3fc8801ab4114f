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
            }
            catch (IOException) when (File.Exists(path))
            {
                // another server process made it first
            }
        }
        _key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        if (_key.Length != 32)
            throw new InvalidOperationException($"{path} holds no 256-bit key");
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
