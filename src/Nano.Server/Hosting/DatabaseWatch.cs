namespace Nano.Server.Hosting;

/// <summary>
/// Keeps the embedded PostgreSQL cluster running: if its postmaster dies (killed, out of memory), it is started again
/// within seconds, once per death, and said so in the log. Requests answer 503 meanwhile (FaultInterceptor). With a
/// configured database (Nano:Database) it does nothing: that database is its operator's to run.
/// </summary>
public sealed class DatabaseWatch(DatabaseEndpoint endpoint, IHostApplicationLifetime lifetime, ILogger<DatabaseWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (endpoint.Embedded is not { } cluster)
            return;
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result, TaskScheduler.Default))
        {
            if (!cluster.Started || cluster.IsRunning() || lifetime.ApplicationStopping.IsCancellationRequested)
                continue;
            logger.LogError("The embedded PostgreSQL cluster is not running: starting it again");
            try
            {
                await cluster.StartAsync(stoppingToken);
                logger.LogWarning("The embedded PostgreSQL cluster runs again");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("The embedded PostgreSQL cluster did not start again ({Reason}); trying again in {Seconds} s", e.Message, Interval.TotalSeconds);
            }
        }
    }
}
