using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>
/// Every second: a cell silent past the liveness timeout is marked offline (its guests lost) and its stream dropped.
/// What happens to the guests of a lost cell is the domain's (<c>Hosting/FailoverWatch</c>).
/// </summary>
public sealed class CellFellSilent(CellRepository cells, CellGateway gateway, CellStatusFeed feed, ILogger<CellFellSilent> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Liveness check failed");
            }
        }
    }
}
