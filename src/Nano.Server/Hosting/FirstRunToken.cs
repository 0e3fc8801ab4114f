using System.Security.Cryptography;

namespace Nano.Server.Hosting;

/// <summary>
/// The one-time token that lets the first run (creating the first administrator) come from another host than the
/// server's own: new at every start, printed while no user exists, and of no use once the first run is done.
/// </summary>
public sealed class FirstRunToken
{
    /// <summary>The header (gRPC metadata key) that carries it.</summary>
    public const string Header = "Nano-Setup-Token";

    public string Value { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public bool Matches(string? presented) => Domain.Secrets.Matches(presented, Value);
}
