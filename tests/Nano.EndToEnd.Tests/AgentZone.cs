using Nano.Testing;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// An initialised server for real agents, over TLS with a zone CA of its own (agents dial <see cref="TestServer.GrpcUrl"/>
/// with <c>--ca-file</c> <see cref="TestServer.CaFile"/>): their join token, metrics every second, 8 s for a cell's answer
/// (KVM work on 2 cores), and a 3 s failover grace period.
/// </summary>
public sealed class AgentZone(string token) : InitializedServer(new Dictionary<string, string?>
{
    ["Nano:CellToken"] = token,
    ["Nano:CellMetricsIntervalMs"] = "1000",
    ["Nano:CellCommandTimeoutSeconds"] = "8",
    ["Nano:FailoverGraceSeconds"] = "3",
    ["Nano:TlsFolder"] = Path.Combine(Path.GetTempPath(), $"nano-e2e-tls-{Guid.NewGuid():N}"),
});
