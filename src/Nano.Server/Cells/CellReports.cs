using Microsoft.Extensions.Options;
using Nano.Server.Cells.Events;
using Nano.Server.Data;
using Nano.Server.Hosting;

namespace Nano.Server.Cells;

/// <summary>
/// What cells report often, that they are alive and their metrics, written to the database twice a second per replica for
/// every cell heard since the last write: one statement for the cells and one for their guests, whatever the number of
/// cells (5,000 cells beating every 2 s and reporting every 5 s would otherwise make thousands of writes a second, and
/// a replica busy with a storm of joins would let its cells' last_seen age until the leader took them for dead). Each
/// write learns whether each cell's pool fails over, which its heartbeat acks pass on (<see cref="HeartbeatReceived.Learn"/>);
/// status watchers are told of the cells whose metrics it wrote. A stream whose cell the write finds offline (the leader,
/// maybe on another replica, took it for dead) or registered on a newer stream is closed: its agent's next hello brings
/// the cell back, rather than a live stream beating for a cell the zone counts as lost.
/// </summary>
public sealed class CellReports(CellRepository cells, GuestRepository guests, CellStatusFeed feed, IOptions<NanoOptions> options, ILogger<CellReports> logger)
    : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    private readonly Lock _gate = new();
    private Dictionary<string, Report> _pending = [];

    /// <summary>The cell of <paramref name="connection"/> was heard: its last_seen is written with the next batch.</summary>
    public void Heard(CellConnection connection)
    {
        lock (_gate)
            Of(connection);
    }

    /// <summary>Its metrics (the latest replace any not written yet), written with the next batch.</summary>
    public void Reported(CellConnection connection, CellMetrics metrics, IReadOnlyList<GuestSample> samples)
    {
        lock (_gate)
        {
            var report = Of(connection);
            report.Metrics = metrics;
            report.Guests = samples;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
            await WriteAsync();
    }

    private Report Of(CellConnection connection)
    {
        if (!_pending.TryGetValue(connection.Cell, out var report) || report.Connection != connection)
            _pending[connection.Cell] = report = new Report(connection);
        return report;
    }

    private async Task WriteAsync()
    {
        Dictionary<string, Report> batch;
        lock (_gate)
        {
            (batch, _pending) = (_pending, []);
        }
        if (batch.Count == 0)
            return;
        try
        {
            var failover = await cells.SaveReportsAsync([.. batch.Values.Select(r => (r.Connection.Cell, r.Connection.Id, r.Metrics))]);
            await guests.SaveMetricsAsync([.. batch.Values.Where(r => r.Guests is { Count: > 0 } && failover.ContainsKey(r.Connection.Cell)).SelectMany(r => r.Guests!)]);
            foreach (var report in batch.Values)
            {
                if (!failover.TryGetValue(report.Connection.Cell, out var fails))
                {
                    // Its row is offline (the leader, on this replica or another, found it silent) or names a newer stream:
                    // this stream is closed, and the agent's hello on its next one brings the cell back as it is then.
                    if (!report.Connection.Closed.IsCancellationRequested)
                        logger.LogWarning("Cell {Cell} is offline or connected elsewhere by its record: its stream here is closed", report.Connection.Cell);
                    report.Connection.Close();
                    continue;
                }
                HeartbeatReceived.Learn(report.Connection, fails, options.Value);
                if (report.Metrics is not null)
                    feed.Publish(report.Connection.Cell);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // What was not written goes with the next batch, unless newer reports replaced it meanwhile.
            lock (_gate)
            {
                foreach (var (cell, report) in batch)
                    _pending.TryAdd(cell, report);
            }
            logger.LogWarning("Writing the reports of {Count} cells failed ({Reason}); the next batch carries them", batch.Count, e.Message);
        }
    }

    private sealed class Report(CellConnection connection)
    {
        public CellConnection Connection { get; } = connection;

        public CellMetrics? Metrics { get; set; }

        public IReadOnlyList<GuestSample>? Guests { get; set; }
    }
}
