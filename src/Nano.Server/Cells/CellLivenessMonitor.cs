using Microsoft.Extensions.Options;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;

namespace Nano.Server.Cells;

/// <summary>
/// Every second: a cell silent past the liveness timeout is marked offline and its stream dropped; and once the
/// server has run for the failover grace period, the guests of cells of failover pools lost for longer than that
/// move to other cells.
/// </summary>
public sealed class CellLivenessMonitor(
    CellRepository cells, CellGateway gateway, CellStatusFeed feed, Failover failover, IOptions<NanoOptions> options, ILogger<CellLivenessMonitor> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var grace = TimeSpan.FromSeconds(options.Value.FailoverGraceSeconds);
        var started = DateTime.UtcNow;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                foreach (var (cell, lastSeen) in await cells.ListSilentAsync())
                {
                    // Only if nothing was heard since the check: a cell that rejoined meanwhile keeps its new stream.
                    if (!await cells.DisconnectSilentAsync(cell, lastSeen))
                        continue;
                    logger.LogWarning("Cell {Cell} fell silent: offline, its guests lost", cell);
                    gateway.Drop(cell, since: lastSeen);
                    feed.Publish(cell);
                }
                if (DateTime.UtcNow - started >= grace)
                    await failover.RunAsync((int)grace.TotalSeconds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Liveness check failed");
            }
        }
    }
}
