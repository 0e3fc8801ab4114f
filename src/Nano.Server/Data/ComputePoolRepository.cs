using Dapper;
using Nano.Server.Domain;
using Npgsql;

namespace Nano.Server.Data;

public sealed record ComputePoolRow(string Name, bool Enabled, int Cells, string? Storage, string? Network, bool Failover, string Cpu = "");

/// <summary>Compute pools: storage, address pool and failover settings.</summary>
public sealed class ComputePoolRepository(NpgsqlDataSource db)
{
    private const string Select = """
        SELECT p.name, p.enabled, (SELECT count(*)::int FROM cells c WHERE c.pool = p.name) AS cells, p.storage, p.network, p.failover, p.cpu
        FROM compute_pools p
        """;

    public async Task<IReadOnlyList<ComputePoolRow>> ListAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<ComputePoolRow>($"{Select} ORDER BY p.name")).AsList();
    }

    public async Task<ComputePoolRow?> FindAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<ComputePoolRow>($"{Select} WHERE p.name = @name", new { name });
    }

    public async Task CreateAsync(string name, string? storage, string? network, bool failover, string cpu)
    {
        await using var c = await db.OpenConnectionAsync();
        try
        {
            await c.ExecuteAsync("INSERT INTO compute_pools (name, storage, network, failover, cpu) VALUES (@name, @storage, @network, @failover, @cpu)",
                new { name, storage, network, failover, cpu });
        }
        catch (PostgresException e) when (e.IsUniqueViolation())
        {
            throw Fail.Exists($"compute pool '{name}' already exists");
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            throw MissingReference(storage, network);
        }
    }

    /// <summary>
    /// Replaces (storage, network, failover, cpu). The storage may change only while the pool has no cells,
    /// the address pool only while no guest of the pool holds an address of the current one.
    /// </summary>
    public async Task UpdateAsync(string name, string? storage, string? network, bool failover, string cpu)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var current = await c.QuerySingleOrDefaultAsync<ComputePoolRow>($"{Select} WHERE p.name = @name FOR UPDATE OF p", new { name }, tx)
            ?? throw Fail.NotFound($"compute pool '{name}' not found");
        if (current.Storage == storage && current.Network == network && current.Failover == failover && current.Cpu == cpu)
            throw Fail.Precondition($"compute pool '{name}' already has these settings");
        if (current.Storage != storage && current.Cells > 0)
            throw Fail.Precondition($"the storage of compute pool '{name}' cannot change while it has cells");
        if (current.Network != network && current.Network is not null)
        {
            var held = await c.ExecuteScalarAsync<bool>("""
                SELECT EXISTS (SELECT 1 FROM address_allocations a JOIN guests g ON g.id::text = a.instance
                               WHERE a.pool = @network AND g.pool = @name)
                """, new { network = current.Network, name }, tx);
            if (held)
                throw Fail.Precondition($"guests of compute pool '{name}' still hold addresses of '{current.Network}'");
        }
        try
        {
            await c.ExecuteAsync("UPDATE compute_pools SET storage = @storage, network = @network, failover = @failover, cpu = @cpu WHERE name = @name",
                new { name, storage, network, failover, cpu }, tx);
            await tx.CommitAsync();
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            throw MissingReference(storage, network);
        }
    }

    public Task DeleteAsync(string name) =>
        db.DeleteOneAsync("DELETE FROM compute_pools WHERE name = @name", new { name },
            notFound: $"compute pool '{name}' not found", inUse: $"compute pool '{name}' still has cells");

    private static Grpc.Core.RpcException MissingReference(string? storage, string? network) =>
        Fail.NotFound($"storage pool '{storage}' or address pool '{network}' not found");
}
