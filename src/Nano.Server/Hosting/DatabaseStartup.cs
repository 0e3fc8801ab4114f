using Microsoft.Extensions.Options;
using Nano.Server.Data;

namespace Nano.Server.Hosting;

/// <summary>
/// Runs first among the hosted services: starts the embedded PostgreSQL cluster when no connection
/// string is configured, then applies the schema migrations. Stops the cluster when the server stops.
/// </summary>
public sealed class DatabaseStartup(DatabaseEndpoint endpoint, IServiceProvider services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (endpoint.Embedded is { } embedded)
            await embedded.StartAsync(cancellationToken);
        await services.GetRequiredService<Migrator>().ApplyAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (endpoint.Embedded is { } embedded)
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await embedded.StopAsync();
        }
    }
}

/// <summary>Where the database is: a configured connection string, or the embedded cluster.</summary>
public sealed class DatabaseEndpoint
{
    public DatabaseEndpoint(IOptions<NanoOptions> options)
    {
        var configured = options.Value.Database;
        if (string.IsNullOrWhiteSpace(configured))
        {
            Embedded = new EmbeddedPostgres(Path.Combine(options.Value.DataDir, "postgres"));
            ConnectionString = Embedded.ConnectionString;
        }
        else
        {
            ConnectionString = configured;
        }
    }

    public EmbeddedPostgres? Embedded { get; }

    public string ConnectionString { get; }
}
