namespace Nano.Server.Domain;

/// <summary>bcrypt (cost 11) over a SHA-384 pre-hash, so long passwords are not truncated at 72 bytes.</summary>
public static class PasswordHasher
{
    private const int WorkFactor = 11;

    /// <summary>Hash of a password nobody has: verifying against it costs what a real check costs.</summary>
    private static readonly Lazy<string> Decoy = new(() => Hash(Guid.NewGuid().ToString()));

    public static string Hash(string password) =>
        BCrypt.Net.BCrypt.EnhancedHashPassword(password, BCrypt.Net.HashType.SHA384, WorkFactor);

    /// <summary>Verifies; with no stored hash it still spends the time, so unknown users are not told apart.</summary>
    public static bool Verify(string password, string? hash)
    {
        var matches = BCrypt.Net.BCrypt.EnhancedVerify(password, hash ?? Decoy.Value, BCrypt.Net.HashType.SHA384);
        return hash is not null && matches;
    }
}
