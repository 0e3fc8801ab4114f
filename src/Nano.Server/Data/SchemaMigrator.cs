using System.Reflection;
using Dapper;
using Nano.Server.Hosting;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>
/// Applies the numbered scripts under Data/Schema in order, each in its own transaction,
/// recording them in schema_journal. Replicas starting together serialise on an advisory lock.
/// </summary>
public sealed class SchemaMigrator(DatabaseEndpoint database, ILogger<SchemaMigrator> logger)
{
    private const long LockKey = 0x4e414e4f; // "NANO"

    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.Maintenance);
        await connection.OpenAsync(cancellationToken);
        // The lock comes first: two replicas creating the journal at once collide in the catalog, IF NOT EXISTS or not.
        await connection.ExecuteAsync("SELECT pg_advisory_lock(@LockKey)", new { LockKey });
        try
        {
            await connection.ExecuteAsync("""
                CREATE TABLE IF NOT EXISTS schema_journal (
                    version     text PRIMARY KEY,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """);
            var applied = (await connection.QueryAsync<string>("SELECT version FROM schema_journal")).ToHashSet();
            foreach (var (version, sql) in Scripts().Where(s => !applied.Contains(s.Version)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync(sql, transaction: transaction);
                await connection.ExecuteAsync("INSERT INTO schema_journal (version) VALUES (@version)", new { version }, transaction);
                await transaction.CommitAsync(cancellationToken);
                logger.LogInformation("Applied schema migration {Version}", version);
            }
        }
        finally
        {
            await connection.ExecuteAsync("SELECT pg_advisory_unlock(@LockKey)", new { LockKey });
        }
    }

    private static IEnumerable<(string Version, string Sql)> Scripts()
    {
        var assembly = Assembly.GetExecutingAssembly();
        const string prefix = "Nano.Server.Data.Schema.";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            yield return (Path.GetFileNameWithoutExtension(name[prefix.Length..]), reader.ReadToEnd());
        }
    }
}
