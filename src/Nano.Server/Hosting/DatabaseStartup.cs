using Nano.Server.Data;
using Npgsql;

namespace Nano.Server.Hosting;

/// <summary>
/// Runs first among the hosted services: starts the embedded PostgreSQL cluster when no connection
/// string is configured, then applies the schema migrations. Stops the cluster when the server stops.
/// </summary>
public sealed class DatabaseStartup(DatabaseEndpoint endpoint, SchemaMigrator migrator) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (endpoint.Embedded is { } embedded)
            await embedded.StartAsync(cancellationToken);
        await migrator.ApplyAsync(cancellationToken);
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
