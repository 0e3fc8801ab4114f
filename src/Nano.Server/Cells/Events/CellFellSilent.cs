using Microsoft.Extensions.Options;
using Nano.Server.Data;
using Nano.Server.Hosting;
using Nano.Server.Replicas;

namespace Nano.Server.Cells.Events;

/// <summary>
/// Every second, on every replica: the streams it holds of cells not heard from within the liveness timeout are dropped
/// (their agents reconnect, here or to another replica). On the leader: a cell whose last_seen is older than that is
/// marked offline (its guests lost), whichever replica held it. What happens to the guests of a lost cell is the
/// domain's (<c>Hosting/FailoverWatch</c>).
/// </summary>
public sealed class CellFellSilent(
    CellRepository cells, CellGateway gateway, CellStatusFeed feed, Leadership leadership, IOptions<NanoOptions> options, ILogger<CellFellSilent> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                gateway.DropSilent(TimeSpan.FromSeconds(options.Value.CellLivenessSeconds));
                if (!leadership.IsLeader)
                    continue;
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
