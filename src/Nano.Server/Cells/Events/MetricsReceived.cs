using Microsoft.Extensions.Options;
using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Hosting;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell's metrics: its host's figures and its guests' usage are stored (with its last_seen, learning whether its pool
/// fails over, as a heartbeat's write does), and status watchers are told.
/// </summary>
public sealed class MetricsReceived(CellRepository cells, GuestRepository guests, CellStatusFeed feed, IOptions<NanoOptions> options)
{
    public async Task HandleAsync(CellConnection connection, MetricsSample m)
    {
        connection.LastTouch = DateTime.UtcNow;
        var failover = await cells.SaveMetricsAsync(connection.Cell, new CellMetrics(Math.Clamp(m.CpuUsage, 0, 100), m.AvailableMemory, m.MaxMemory,
            m.AvailableDisk, m.MaxDisk, m.ReadSpeed, m.WriteSpeed, m.ReceiveSpeed, m.SendSpeed));
        HeartbeatReceived.Learn(connection, failover, options.Value);
        await guests.SaveMetricsAsync(connection.Cell, m.Guests
            .Where(g => Guid.TryParse(g.GuestId, out _))
            .Select(g => (Guid.Parse(g.GuestId), Math.Clamp(g.CpuUsage, 0, 100), g.Memory, g.BytesRead, g.BytesWritten, g.BytesReceived, g.BytesSent))
            .ToList());
        feed.Publish(connection.Cell);
    }
}
