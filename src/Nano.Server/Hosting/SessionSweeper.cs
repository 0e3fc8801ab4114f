using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Replicas;

namespace Nano.Server.Hosting;

/// <summary>
/// Every 10 seconds deletes the sessions expired longer than <see cref="SessionRepository.ExpiredKept"/> ago, stale monitor
/// channels (both already count as absent once expired) and the failed-login windows that ended. It runs on the leader only.
/// </summary>
public sealed class SessionSweeper(
    SessionRepository sessions, MonitorChannelRepository channels, LoginLimiter logins, Leadership leadership, ILogger<SessionSweeper> logger)
    : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (!leadership.IsLeader)
                continue;
            try
            {
                await sessions.DeleteExpiredAsync();
                await channels.DeleteStaleAsync();
                await logins.SweepAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Session sweep failed");
            }
        }
    }
}
