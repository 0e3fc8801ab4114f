using Dapper;
using Npgsql;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Data;

/// <summary>An address handed out: the range it came from, the address, who holds it (a guest's id).</summary>
public sealed record AllocationRow(long RangeStart, long Address, string Instance);

/// <summary>
/// IP address management, in one place: which guest holds which address of an address pool. A guest gets its
/// address in the transaction that inserts its row (<see cref="GuestRepository.InsertAsync"/>) and gives it back in
/// the one that deletes it; a compute pool may change its address pool only when none of its guests holds one.
/// One row per address, so the primary key makes a double hand-out impossible.
/// </summary>
public sealed class AddressAllocations(NpgsqlDataSource db, AddressPoolRepository pools)
{
    public async Task<IReadOnlyList<AllocationRow>> ListAsync(string pool, long? rangeStart = null)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<AllocationRow>("""
            SELECT range_start, address, instance FROM address_allocations
            WHERE pool = @pool AND (@rangeStart::bigint IS NULL OR range_start = @rangeStart) ORDER BY address
            """, new { pool, rangeStart })).AsList();
    }

    /// <summary>
    /// Hands one free address of the pool to <paramref name="instance"/>: ranges in insertion order, full
    /// ones skipped, each scanned from a random offset. A lost race just tries the next free address. Null when the pool is full.
    /// </summary>
    public async Task<AllocationRow?> AllocateAsync(string pool, string instance)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await AllocateAsync(c, null, pool, instance))?.Row;
    }

    /// <summary>A guest's address in CIDR form (address/prefix of its range), handed out inside the caller's transaction; null when the pool is full.</summary>
    public async Task<string?> AllocateCidrAsync(NpgsqlConnection c, NpgsqlTransaction tx, string pool, string instance)
    {
        if (await AllocateAsync(c, tx, pool, instance) is not ({ } allocation, { } range))
            return null;
        return $"{Ipv4.Format(allocation.Address)}/{Ipv4.PrefixLength("netmask", range.Netmask)}";
    }

    /// <summary>Releases every address <paramref name="instance"/> holds.</summary>
    public async Task<int> ReleaseAsync(string instance)
    {
        await using var c = await db.OpenConnectionAsync();
        return await ReleaseAsync(c, null, instance);
    }

    /// <summary>The same, inside the caller's transaction (a guest's row and its address go together).</summary>
    public static Task<int> ReleaseAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string instance) =>
        c.ExecuteAsync("DELETE FROM address_allocations WHERE instance = @instance", new { instance }, tx);

    /// <summary>Whether a guest of compute pool <paramref name="computePool"/> holds an address of <paramref name="addressPool"/>.</summary>
    public static Task<bool> HeldByGuestsOfAsync(NpgsqlConnection c, NpgsqlTransaction tx, string addressPool, string computePool) =>
        c.ExecuteScalarAsync<bool>("""
            SELECT EXISTS (SELECT 1 FROM address_allocations a JOIN guests g ON g.id::text = a.instance
                           WHERE a.pool = @addressPool AND g.pool = @computePool)
            """, new { addressPool, computePool }, tx);

    /// <summary>The address handed out and the range it came from (for its netmask).</summary>
    private async Task<(AllocationRow Row, AddressRangeRow Range)?> AllocateAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string pool, string instance)
    {
        foreach (var range in await pools.ListRangesAsync(pool, "internal"))
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
                    return (new AllocationRow(range.StartAddress, address.Value, instance), range);
            }
        }
        return null;
    }
}
