using System.Security.Cryptography;

namespace Nano.Server.Domain;

/// <summary>Random passwords (monitor secrets, admin passwords) of letters and digits.</summary>
public static class Secrets
{
    /// <summary>VNC authentication uses the first 8 characters of a password: a console password has exactly 8.</summary>
    public const int ConsoleLength = 8;

    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    public static string New(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
