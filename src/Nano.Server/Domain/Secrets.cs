using System.Security.Cryptography;

namespace Nano.Server.Domain;

/// <summary>Random passwords (monitor secrets, admin passwords) of letters and digits, and the comparison of tokens.</summary>
public static class Secrets
{
    /// <summary>VNC authentication uses the first 8 characters of a password: a console password has exactly 8.</summary>
    public const int ConsoleLength = 8;

    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    public static string New(int length) => RandomNumberGenerator.GetString(Alphabet, length);

    /// <summary>
    /// Whether a presented token is the expected one, in time that tells nothing of either (both hashed first, so their
    /// lengths do not show either); never when none is expected.
    /// </summary>
    public static bool Matches(string? presented, string expected) =>
        !string.IsNullOrEmpty(presented) && expected.Length > 0 &&
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(presented)), SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(expected)));
}
