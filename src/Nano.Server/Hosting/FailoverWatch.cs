using Microsoft.Extensions.Options;
using Nano.Server.Domain;

namespace Nano.Server.Hosting;

/// <summary>
/// Every second, once the server has run for the failover grace period: the guests of cells of failover pools that
/// have been lost for longer than that move to other cells (<see cref="Failover"/>). The server waits that long after
/// it starts so that cells it has not heard from yet get the chance to reconnect.
/// </summary>
public sealed class FailoverWatch(Failover failover, IOptions<NanoOptions> options, ILogger<FailoverWatch> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var grace = TimeSpan.FromSeconds(options.Value.FailoverGraceSeconds);
        await Task.Delay(grace, stoppingToken);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        do
        {
            try
            {
                await failover.RunAsync((int)grace.TotalSeconds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Failover check failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
