using System.Security.Cryptography;

namespace Nano.Server.Domain;

/// <summary>Random passwords (monitor secrets, admin passwords) of letters and digits.</summary>
public static class Secrets
{
    private const string Alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

    public static string New(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
