using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell's metrics: its host's figures and its guests' usage are written with the replica's next batch of reports
/// (<see cref="CellReports"/>, which also writes its last_seen, learns whether its pool fails over and tells status watchers).
/// </summary>
public sealed class MetricsReceived(CellReports reports)
{
    public void Handle(CellConnection connection, MetricsSample m) =>
        reports.Reported(connection,
            new CellMetrics(Math.Clamp(m.CpuUsage, 0, 100), m.AvailableMemory, m.MaxMemory, m.AvailableDisk, m.MaxDisk, m.ReadSpeed, m.WriteSpeed,
                m.ReceiveSpeed, m.SendSpeed),
            [.. m.Guests
                .Where(g => Guid.TryParse(g.GuestId, out _))
                .Select(g => new GuestSample(connection.Cell, Guid.Parse(g.GuestId), Math.Clamp(g.CpuUsage, 0, 100), g.Memory, g.BytesRead, g.BytesWritten,
                    g.BytesReceived, g.BytesSent))]);
}
