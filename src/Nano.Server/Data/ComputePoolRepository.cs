using Dapper;
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

    /// <summary>Exists when the name is taken, Missing when the storage or address pool it names does not exist.</summary>
    public Task<Written> CreateAsync(string name, string? storage, string? network, bool failover, string cpu) => db.WriteOneAsync(
        "INSERT INTO compute_pools (name, storage, network, failover, cpu) VALUES (@name, @storage, @network, @failover, @cpu)",
        new { name, storage, network, failover, cpu });

    /// <summary>
    /// Replaces (storage, network, failover, cpu). The storage may change only while the pool has no cells (else
    /// InUse), the address pool only while no guest of the pool holds an address of the current one (else InUse
    /// with the current address pool's name). Missing with cause <see cref="MissingReference"/> when the new storage
    /// or address pool does not exist.
    /// </summary>
    public async Task<Written> UpdateAsync(string name, string? storage, string? network, bool failover, string cpu)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var current = await c.QuerySingleOrDefaultAsync<ComputePoolRow>($"{Select} WHERE p.name = @name FOR UPDATE OF p", new { name }, tx);
        if (current is null)
            return Written.Missing();
        if (current.Storage == storage && current.Network == network && current.Failover == failover && current.Cpu == cpu)
            return Written.Unchanged;
        if (current.Storage != storage && current.Cells > 0)
            return Written.InUse();
        if (current.Network != network && current.Network is not null &&
            await AddressAllocations.HeldByGuestsOfAsync(c, tx, current.Network, name))
            return Written.InUse(current.Network);
        var written = await c.WriteAsync("UPDATE compute_pools SET storage = @storage, network = @network, failover = @failover, cpu = @cpu WHERE name = @name",
            new { name, storage, network, failover, cpu }, tx);
        if (written.Outcome == WriteOutcome.Missing)
            return Written.Missing(MissingReference);
        await tx.CommitAsync();
        return written;
    }

    /// <summary>InUse while cells are attached.</summary>
    public Task<Written> DeleteAsync(string name) => db.WriteOneAsync("DELETE FROM compute_pools WHERE name = @name", new { name });

    /// <summary>The cause of a Missing <see cref="UpdateAsync"/>: a storage or address pool it names does not exist.</summary>
    public const string MissingReference = "reference";
}
