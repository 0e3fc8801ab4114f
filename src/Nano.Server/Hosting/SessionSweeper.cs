using Nano.Server.Data;

namespace Nano.Server.Hosting;

/// <summary>
/// Every 10 seconds deletes the sessions expired longer than <see cref="SessionRepository.ExpiredKept"/> ago and stale monitor
/// channels (both already count as absent once expired).
/// </summary>
public sealed class SessionSweeper(SessionRepository sessions, MonitorChannelRepository channels, ILogger<SessionSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await sessions.DeleteExpiredAsync();
                await channels.DeleteStaleAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Session sweep failed");
            }
        }
    }
}
