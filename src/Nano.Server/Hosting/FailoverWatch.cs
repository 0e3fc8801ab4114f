using Microsoft.Extensions.Options;
using Nano.Server.Domain;
using Nano.Server.Replicas;

namespace Nano.Server.Hosting;

/// <summary>
/// Every second, on the leader, once it has led for the failover grace period: the guests of cells of failover pools
/// that have been lost for longer than that move to other cells (<see cref="Failover"/>). A new leader (at start-up, or
/// after the previous one died) waits that long so that cells that have not reconnected yet (to it or to another
/// replica) get the chance to.
/// </summary>
public sealed class FailoverWatch(Failover failover, Leadership leadership, IOptions<NanoOptions> options, ILogger<FailoverWatch> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var grace = TimeSpan.FromSeconds(options.Value.FailoverGraceSeconds);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!leadership.IsLeader || DateTime.UtcNow - leadership.Since < grace)
                continue;
            try
            {
                await failover.RunAsync((int)grace.TotalSeconds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Failover check failed");
            }
        }
    }
}
