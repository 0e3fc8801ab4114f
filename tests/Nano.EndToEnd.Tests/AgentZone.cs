using Nano.Testing;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// An initialised server for real agents, over TLS with a zone CA of its own (agents dial <see cref="TestServer.GrpcUrl"/>
/// with <c>--ca-file</c> <see cref="TestServer.CaFile"/>): their join token, metrics every second, 8 s for a cell's answer
/// (KVM work on 2 cores), and a 3 s failover grace period; <paramref name="extra"/> settings beside them.
/// </summary>
public sealed class AgentZone(string token, params (string Key, string Value)[] extra) : InitializedServer(Settings(token, extra))
{
    private static Dictionary<string, string?> Settings(string token, (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Nano:CellToken"] = token,
            ["Nano:CellMetricsIntervalMs"] = "1000",
            ["Nano:CellCommandTimeoutSeconds"] = "8",
            ["Nano:FailoverGraceSeconds"] = "3",
            ["Nano:TlsFolder"] = Path.Combine(Path.GetTempPath(), $"nano-e2e-tls-{Guid.NewGuid():N}"),
        };
        foreach (var (key, value) in extra)
            settings[key] = value;
        return settings;
    }
}
