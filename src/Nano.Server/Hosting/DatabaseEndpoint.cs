using System.Data.Common;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Nano.Server.Hosting;

/// <summary>Where the database is: a configured connection string, or the embedded cluster.</summary>
public sealed class DatabaseEndpoint
{
    public DatabaseEndpoint(IOptions<NanoOptions> options)
    {
        var configured = options.Value.Database;
        if (string.IsNullOrWhiteSpace(configured))
        {
            Embedded = new EmbeddedPostgres(Path.Combine(options.Value.DataDir, "postgres"), options.Value.DatabaseFsync);
            configured = Embedded.ConnectionString;
        }
        // Requests run one or two short statements each: multiplexing them over few connections and
        // preparing the frequent ones doubles REST throughput (tools/bench/rest-overhead). Explicit
        // settings in a configured connection string win.
        var given = new DbConnectionStringBuilder { ConnectionString = configured };
        var tuned = new NpgsqlConnectionStringBuilder(configured);
        if (!given.ContainsKey("Multiplexing"))
            tuned.Multiplexing = true;
        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
            tuned.MaxAutoPrepare = 64;
        ConnectionString = tuned.ConnectionString;
        Maintenance = new NpgsqlConnectionStringBuilder(ConnectionString) { Multiplexing = false, Pooling = false }.ConnectionString;
    }

    public EmbeddedPostgres? Embedded { get; }

    /// <summary>For the request path (multiplexed).</summary>
    public string ConnectionString { get; }

    /// <summary>Plain connections: schema migrations (which hold a session-level advisory lock) and the replica signals (LISTEN).</summary>
    public string Maintenance { get; }
}
