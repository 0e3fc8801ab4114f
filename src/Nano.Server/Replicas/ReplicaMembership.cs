using Nano.Server.Data;
using Npgsql;

namespace Nano.Server.Replicas;

/// <summary>
/// This replica's row in the registry: written at start-up (after the schema, before anything is served), refreshed four
/// times per liveness window, deleted at an orderly stop. A replica that finds its row gone was taken for dead while it
/// could not reach the database, and the leader has recovered its work meanwhile: it stops at once rather than carry on
/// with work that others have finished or undone (its supervisor starts it again, as a new replica). A replica whose
/// secrets key is not the zone's refuses to start: it could not read the secrets the others stored.
/// </summary>
public sealed class ReplicaMembership(
    ReplicaIdentity self, ReplicaRepository replicas, SecretSeal seal, IHostApplicationLifetime lifetime, ILogger<ReplicaMembership> logger)
    : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await replicas.SecretsKeyFingerprintAsync(seal.Fingerprint) != seal.Fingerprint)
            throw new InvalidOperationException(
                $"{seal.KeyPath} is not the key that seals this zone's stored secrets: every replica of a zone uses the same key file " +
                "(copy it from the data folder of the zone's first server)");
        await replicas.RegisterAsync(self.Id, self.GrpcUrl, self.RestUrl, Environment.MachineName, Services.SystemService.ServerVersion);
        logger.LogInformation("Replica {Id} registered at {Url}", self.Id, self.GrpcUrl);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(self.Beat);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (await replicas.TouchAsync(self.Id))
                    continue;
                logger.LogCritical("Replica {Id} was taken for dead (the database did not hear from it for {Seconds} s) and its work recovered " +
                                   "by another replica: stopping", self.Id, self.Liveness.TotalSeconds);
                lifetime.StopApplication();
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Refreshing the registry row of replica {Id} failed: {Reason}", self.Id, e.Message);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await replicas.RemoveAsync(self.Id);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            logger.LogWarning("Replica {Id} could not leave the registry ({Reason}): it is recovered as a dead replica", self.Id, e.Message);
        }
    }
}
