using Nano.Server.Data;

namespace Nano.Server.Hosting;

/// <summary>Deletes expired sessions and stale monitor channels every 10 seconds (both already count as absent once expired).</summary>
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
