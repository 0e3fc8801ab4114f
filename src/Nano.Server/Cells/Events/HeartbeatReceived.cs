using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Hosting;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell's heartbeat: answered at once with an ack (what keeps an agent of a failover pool from fencing itself), and its
/// last_seen written with the replica's next batch of reports (<see cref="CellReports"/>), which also learns whether the
/// cell's pool fails over, which the acks pass on.
/// </summary>
public sealed class HeartbeatReceived(CellReports reports)
{
    public void Handle(CellConnection connection, Heartbeat heartbeat)
    {
        reports.Heard(connection);
        connection.Send(new ConnectResponse { HeartbeatAck = new HeartbeatAck { Sequence = heartbeat.Sequence, FenceAfterMs = connection.FenceAfterMs } });
    }

    /// <summary>What the acks tell the agent of <paramref name="connection"/>, learnt at each write of its last_seen (<see cref="CellReports"/>).</summary>
    public static void Learn(CellConnection connection, bool failover, NanoOptions o) => connection.FenceAfterMs = failover ? FenceAfterMs(o) : 0;

    /// <summary>
    /// How long an agent of a failover pool may go without an ack before it powers its guests off: less than the soonest
    /// the server may fail them over. A cell is failed over once it was not alive for the grace period: its last_seen older
    /// than liveness plus grace. last_seen is written within about half a second of each heartbeat (<see cref="CellReports"/>);
    /// the margin kept here is larger, as if it lagged by a third of the liveness timeout (as when heartbeats were written
    /// that seldom), with two heartbeats and a second to spare besides.
    /// </summary>
    public static int FenceAfterMs(NanoOptions o) =>
        Math.Max(2 * o.CellHeartbeatIntervalMs,
            (int)((o.CellLivenessSeconds * 2 / 3.0 + o.FailoverGraceSeconds) * 1000) - 2 * o.CellHeartbeatIntervalMs - 1000);
}
