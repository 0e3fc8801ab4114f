using Nano.Server.Data;
using Npgsql;

namespace Nano.Server.Hosting;

/// <summary>
/// Runs first among the hosted services: starts the embedded PostgreSQL cluster when no connection
/// string is configured, applies the schema migrations, and seals guests' secrets stored before they were sealed
/// (<see cref="SecretSeal"/>). Stops the cluster when the server stops.
/// </summary>
public sealed class DatabaseStartup(DatabaseEndpoint endpoint, SchemaMigrator migrator, GuestRepository guests, ILogger<DatabaseStartup> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (endpoint.Embedded is { } embedded)
            await embedded.StartAsync(cancellationToken);
        await migrator.ApplyAsync(cancellationToken);
        if (await guests.SealStoredSecretsAsync() is > 0 and var sealedRows)
            logger.LogInformation("Sealed the stored secrets of {Count} guests", sealedRows);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (endpoint.Embedded is { } embedded)
        {
            NpgsqlConnection.ClearAllPools();
            await embedded.StopAsync();
        }
    }
}
