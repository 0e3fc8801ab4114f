using Dapper;
using Npgsql;

namespace Nano.Server.Data;

public sealed record StoragePoolRow(string Name, string Type, string Host, string Target);

/// <summary>Shared storage pools (NFS exports).</summary>
public sealed class StoragePoolRepository(NpgsqlDataSource db)
{
    private const string Columns = "name, type, host, target";

    public async Task<IReadOnlyList<StoragePoolRow>> ListAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<StoragePoolRow>($"SELECT {Columns} FROM storage_pools ORDER BY name")).AsList();
    }

    public async Task<StoragePoolRow?> FindAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<StoragePoolRow>($"SELECT {Columns} FROM storage_pools WHERE name = @name", new { name });
    }

    public Task<Written> CreateAsync(StoragePoolRow pool) =>
        db.WriteOneAsync("INSERT INTO storage_pools (name, type, host, target) VALUES (@Name, @Type, @Host, @Target)", pool);

    /// <summary>
    /// Replaces type, host and target of a pool no compute pool uses (else InUse with that compute pool's name);
    /// identical values are Unchanged.
    /// </summary>
    public async Task<Written> UpdateAsync(StoragePoolRow pool)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var current = await c.QuerySingleOrDefaultAsync<StoragePoolRow>(
            $"SELECT {Columns} FROM storage_pools WHERE name = @Name FOR UPDATE", pool, tx);
        if (current is null)
            return Written.Missing();
        if (current == pool)
            return Written.Unchanged;
        var user = await c.QueryFirstOrDefaultAsync<string>("SELECT name FROM compute_pools WHERE storage = @Name LIMIT 1", pool, tx);
        if (user is not null)
            return Written.InUse(user);
        await c.ExecuteAsync("UPDATE storage_pools SET type = @Type, host = @Host, target = @Target WHERE name = @Name", pool, tx);
        await tx.CommitAsync();
        return Written.Done;
    }

    /// <summary>InUse while a compute pool uses it.</summary>
    public Task<Written> DeleteAsync(string name) => db.WriteOneAsync("DELETE FROM storage_pools WHERE name = @name", new { name });
}
