using Microsoft.Extensions.Options;
using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Hosting;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell's heartbeat: answered at once with an ack (what keeps an agent of a failover pool from fencing itself), and
/// its last_seen written at most three times per liveness timeout, not on every heartbeat (metrics write it too); each
/// write also learns whether the cell's pool fails over, which the acks pass on.
/// </summary>
public sealed class HeartbeatReceived(CellRepository cells, IOptions<NanoOptions> options)
{
    public async Task HandleAsync(CellConnection connection, Heartbeat heartbeat)
    {
        if (DateTime.UtcNow - connection.LastTouch >= TimeSpan.FromSeconds(options.Value.CellLivenessSeconds / 3.0))
        {
            connection.LastTouch = DateTime.UtcNow;
            Learn(connection, await cells.TouchAsync(connection.Cell), options.Value);
        }
        connection.Send(new ConnectResponse { HeartbeatAck = new HeartbeatAck { Sequence = heartbeat.Sequence, FenceAfterMs = connection.FenceAfterMs } });
    }

    /// <summary>What the acks tell the agent of <paramref name="connection"/>, learnt at each write of its last_seen (heartbeat or metrics).</summary>
    public static void Learn(CellConnection connection, bool failover, NanoOptions o) => connection.FenceAfterMs = failover ? FenceAfterMs(o) : 0;

    /// <summary>
    /// How long an agent of a failover pool may go without an ack before it powers its guests off: less than the soonest
    /// the server may fail them over. A cell is failed over once it was not alive for the grace period: its last_seen,
    /// written up to a third of the liveness timeout before its last heartbeat, older than liveness plus grace. The
    /// agent must be done before that, with two heartbeats and a second to spare.
    /// </summary>
    public static int FenceAfterMs(NanoOptions o) =>
        Math.Max(2 * o.CellHeartbeatIntervalMs,
            (int)((o.CellLivenessSeconds * 2 / 3.0 + o.FailoverGraceSeconds) * 1000) - 2 * o.CellHeartbeatIntervalMs - 1000);
}
