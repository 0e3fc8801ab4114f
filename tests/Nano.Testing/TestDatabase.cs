using Nano.Server.Hosting;
using Npgsql;

namespace Nano.Testing;

/// <summary>
/// One real PostgreSQL cluster for the whole test run (started on first use, stopped when the test
/// process exits); every server under test gets a database of its own in it.
/// </summary>
public static class TestDatabase
{
    private static readonly Lazy<Task<EmbeddedPostgres>> Cluster = new(StartAsync);
    private static readonly string Run = Guid.NewGuid().ToString("N")[..8];
    private static int _counter;

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static async Task<string> CreateAsync()
    {
        var cluster = await Cluster.Value;
        var name = $"nano_test_{Run}_{Interlocked.Increment(ref _counter)}";
        await using (var connection = new NpgsqlConnection(cluster.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = name }.ConnectionString;
    }

    private static async Task<EmbeddedPostgres> StartAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), $"nano-tests-{Run}");
        // A throwaway cluster: durability is not what the tests are about.
        var cluster = new EmbeddedPostgres(root, fsync: false);
        await cluster.StartAsync().WaitAsync(TimeSpan.FromMinutes(2));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            NpgsqlConnection.ClearAllPools();
            cluster.StopAsync().Wait(TimeSpan.FromSeconds(20));
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        };
        return cluster;
    }
}
