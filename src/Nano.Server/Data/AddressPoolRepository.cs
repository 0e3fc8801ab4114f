using Dapper;
using Nano.Server.Domain;
using Npgsql;

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

public sealed record AllocationRow(long RangeStart, long Address, string Instance);

/// <summary>Address pools, their ranges, and the addresses handed to guests (one row per address).</summary>
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

    public Task CreateAsync(AddressPoolRow pool) =>
        db.InsertOneAsync("INSERT INTO address_pools (name, gateway, provider, mode, dns) VALUES (@Name, @Gateway, @Provider, @Mode, @Dns)", pool,
            exists: $"address pool '{pool.Name}' already exists");

    public async Task UpdateAsync(AddressPoolRow pool)
    {
        await using var c = await db.OpenConnectionAsync();
        if (await c.ExecuteAsync("UPDATE address_pools SET gateway = @Gateway, provider = @Provider, mode = @Mode, dns = @Dns WHERE name = @Name", pool) == 0)
            throw Fail.NotFound($"address pool '{pool.Name}' not found");
    }

    /// <summary>Deletes a pool that no compute pool uses and that has nothing allocated (its ranges go with it).</summary>
    public async Task DeleteAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var user = await c.QueryFirstOrDefaultAsync<string>("SELECT name FROM compute_pools WHERE network = @name LIMIT 1", new { name }, tx);
        if (user is not null)
            throw Fail.Precondition($"address pool '{name}' is used by compute pool '{user}'");
        try
        {
            if (await c.ExecuteAsync("DELETE FROM address_pools WHERE name = @name", new { name }, tx) == 0)
                throw Fail.NotFound($"address pool '{name}' not found");
            await tx.CommitAsync();
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            throw Fail.Precondition($"address pool '{name}' still has allocated addresses");
        }
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

    public async Task<IReadOnlyList<AllocationRow>> ListAllocationsAsync(string pool, long? rangeStart = null)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<AllocationRow>("""
            SELECT range_start, address, instance FROM address_allocations
            WHERE pool = @pool AND (@rangeStart::bigint IS NULL OR range_start = @rangeStart) ORDER BY address
            """, new { pool, rangeStart })).AsList();
    }

    /// <summary>Adds a range that overlaps no range of the same pool (checked under a per-pool lock).</summary>
    public async Task AddRangeAsync(AddressRangeRow range)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('address_pool:' || @Pool))", range, tx);
        if (!await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM address_pools WHERE name = @Pool)", range, tx))
            throw Fail.NotFound($"address pool '{range.Pool}' not found");
        var overlap = await c.QueryFirstOrDefaultAsync<AddressRangeRow>(
            $"{SelectRange} WHERE pool = @Pool AND start_address <= @EndAddress AND end_address >= @StartAddress LIMIT 1", range, tx);
        if (overlap is not null)
            throw Fail.Precondition(
                $"range {Ipv4.Format(range.StartAddress)}-{Ipv4.Format(range.EndAddress)} overlaps {Ipv4.Format(overlap.StartAddress)}-{Ipv4.Format(overlap.EndAddress)} of '{range.Pool}'");
        await c.ExecuteAsync("""
            INSERT INTO address_ranges (pool, type, start_address, end_address, netmask) VALUES (@Pool, @Type, @StartAddress, @EndAddress, @Netmask)
            """, range, tx);
        await tx.CommitAsync();
    }

    public async Task RemoveRangeAsync(string pool, string type, long start)
    {
        await db.DeleteOneAsync("DELETE FROM address_ranges WHERE pool = @pool AND type = @type AND start_address = @start",
            new { pool, type, start },
            notFound: $"address pool '{pool}' has no {type} range starting at {Ipv4.Format(start)}",
            inUse: $"the range starting at {Ipv4.Format(start)} still has allocated addresses");
    }

    /// <summary>
    /// Hands one free address of the pool to <paramref name="instance"/>: ranges in insertion order, full
    /// ones skipped, each scanned from a random offset. The primary key makes a concurrent double hand-out
    /// impossible; a lost race just tries the next free address. Null when the pool is full.
    /// </summary>
    public async Task<AllocationRow?> AllocateAsync(string pool, string instance)
    {
        await using var c = await db.OpenConnectionAsync();
        return await AllocateAsync(c, null, pool, instance);
    }

    /// <summary>The same, inside the caller's transaction (a guest row and its address commit together).</summary>
    public async Task<AllocationRow?> AllocateAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string pool, string instance)
    {
        foreach (var range in await ListRangesAsync(pool, "internal"))
        {
            var offset = Random.Shared.NextInt64(range.Capacity);
            while (true)
            {
                var address = await c.QueryFirstOrDefaultAsync<long?>("""
                    SELECT a FROM generate_series(@StartAddress, @EndAddress) AS a
                    WHERE NOT EXISTS (SELECT 1 FROM address_allocations x WHERE x.pool = @Pool AND x.address = a)
                    ORDER BY (a - @StartAddress + @offset) % @Capacity LIMIT 1
                    """, new { range.Pool, range.StartAddress, range.EndAddress, range.Capacity, offset }, tx);
                if (address is null)
                    break;
                var taken = await c.ExecuteAsync("""
                    INSERT INTO address_allocations (pool, type, range_start, address, instance)
                    VALUES (@pool, @type, @start, @address, @instance) ON CONFLICT (pool, address) DO NOTHING
                    """, new { pool, type = range.Type, start = range.StartAddress, address, instance }, tx);
                if (taken == 1)
                    return new AllocationRow(range.StartAddress, address.Value, instance);
            }
        }
        return null;
    }

    /// <summary>Releases every address <paramref name="instance"/> holds.</summary>
    public async Task<int> ReleaseAsync(string instance)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("DELETE FROM address_allocations WHERE instance = @instance", new { instance });
    }
}
