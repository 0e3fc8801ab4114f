using Dapper;
using Npgsql;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Data;

public sealed record AddressPoolRow
{
    public required string Name { get; init; }
    public required string Gateway { get; init; }
    public required string Provider { get; init; }
    public required string Mode { get; init; }
    public required string[] Dns { get; init; }
    public long Addresses { get; init; }
    public long Allocated { get; init; }
}

public sealed record AddressRangeRow(string Pool, string Type, long StartAddress, long EndAddress, string Netmask)
{
    public long Capacity => EndAddress - StartAddress + 1;
}

/// <summary>Address pools and their ranges; who holds which address is <see cref="AddressAllocations"/>.</summary>
public sealed class AddressPoolRepository(NpgsqlDataSource db)
{
    private const string SelectPool = """
        SELECT p.name, p.gateway, p.provider, p.mode, p.dns,
               COALESCE((SELECT sum(r.end_address - r.start_address + 1) FROM address_ranges r WHERE r.pool = p.name), 0)::bigint AS addresses,
               (SELECT count(*) FROM address_allocations a WHERE a.pool = p.name) AS allocated
        FROM address_pools p
        """;

    private const string SelectRange = "SELECT pool, type, start_address, end_address, netmask FROM address_ranges";

    public async Task<IReadOnlyList<AddressPoolRow>> ListAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<AddressPoolRow>($"{SelectPool} ORDER BY p.name")).AsList();
    }

    public async Task<AddressPoolRow?> FindAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<AddressPoolRow>($"{SelectPool} WHERE p.name = @name", new { name });
    }

    public async Task<IReadOnlyList<string>> ListNamesAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<string>("SELECT name FROM address_pools ORDER BY name")).AsList();
    }

    public Task<Written> CreateAsync(AddressPoolRow pool) =>
        db.WriteOneAsync("INSERT INTO address_pools (name, gateway, provider, mode, dns) VALUES (@Name, @Gateway, @Provider, @Mode, @Dns)", pool);

    public Task<Written> UpdateAsync(AddressPoolRow pool) =>
        db.WriteOneAsync("UPDATE address_pools SET gateway = @Gateway, provider = @Provider, mode = @Mode, dns = @Dns WHERE name = @Name", pool);

    /// <summary>
    /// Deletes a pool that no compute pool uses (else InUse with that compute pool's name) and that has nothing
    /// allocated (else InUse); its ranges go with it.
    /// </summary>
    public async Task<Written> DeleteAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var user = await c.QueryFirstOrDefaultAsync<string>("SELECT name FROM compute_pools WHERE network = @name LIMIT 1", new { name }, tx);
        if (user is not null)
            return Written.InUse(user);
        var written = await c.WriteAsync("DELETE FROM address_pools WHERE name = @name", new { name }, tx);
        if (written.Outcome == WriteOutcome.Done)
            await tx.CommitAsync();
        return written;
    }

    public async Task<IReadOnlyList<AddressRangeRow>> ListRangesAsync(string pool, string? type = null)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<AddressRangeRow>(
            $"{SelectRange} WHERE pool = @pool AND (@type::text IS NULL OR type = @type) ORDER BY position", new { pool, type })).AsList();
    }

    /// <summary>Ranges of any pool that start at <paramref name="start"/> (to resolve the documented path without a pool).</summary>
    public async Task<IReadOnlyList<AddressRangeRow>> FindRangesStartingAtAsync(long start, string type)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<AddressRangeRow>(
            $"{SelectRange} WHERE start_address = @start AND type = @type ORDER BY pool", new { start, type })).AsList();
    }

    /// <summary>
    /// Adds a range that overlaps no range of the same pool (checked under a per-pool lock): Missing when the pool
    /// does not exist, InUse with the overlapped range ("start-end") otherwise.
    /// </summary>
    public async Task<Written> AddRangeAsync(AddressRangeRow range)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('address_pool:' || @Pool))", range, tx);
        if (!await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM address_pools WHERE name = @Pool)", range, tx))
            return Written.Missing();
        var overlap = await c.QueryFirstOrDefaultAsync<AddressRangeRow>(
            $"{SelectRange} WHERE pool = @Pool AND start_address <= @EndAddress AND end_address >= @StartAddress LIMIT 1", range, tx);
        if (overlap is not null)
            return Written.InUse($"{Ipv4.Format(overlap.StartAddress)}-{Ipv4.Format(overlap.EndAddress)}");
        await c.ExecuteAsync("""
            INSERT INTO address_ranges (pool, type, start_address, end_address, netmask) VALUES (@Pool, @Type, @StartAddress, @EndAddress, @Netmask)
            """, range, tx);
        await tx.CommitAsync();
        return Written.Done;
    }

    /// <summary>InUse while an address of the range is allocated.</summary>
    public Task<Written> RemoveRangeAsync(string pool, string type, long start) =>
        db.WriteOneAsync("DELETE FROM address_ranges WHERE pool = @pool AND type = @type AND start_address = @start", new { pool, type, start });
}
