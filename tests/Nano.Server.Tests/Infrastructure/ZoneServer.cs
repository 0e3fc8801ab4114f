using Nano.Testing;
namespace Nano.Server.Tests.Infrastructure;

/// <summary>An initialised server that admits cell agents with the token "test-token", and short liveness and failover timeouts.</summary>
public sealed class ZoneServer : InitializedServer
{
    public ZoneServer()
        : base(new Dictionary<string, string?>
        {
            ["Nano:CellToken"] = "test-token",
            ["Nano:CellLivenessSeconds"] = "3",
            ["Nano:CellCommandTimeoutSeconds"] = "2",
            ["Nano:CellHeartbeatIntervalMs"] = "500",
            ["Nano:CellMetricsIntervalMs"] = "1000",
            ["Nano:FailoverGraceSeconds"] = "2",
        })
    {
    }
}
