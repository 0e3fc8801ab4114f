using Dapper;
using Nano.Server.Domain;
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

    public Task CreateAsync(StoragePoolRow pool) =>
        db.InsertOneAsync("INSERT INTO storage_pools (name, type, host, target) VALUES (@Name, @Type, @Host, @Target)", pool,
            exists: $"storage pool '{pool.Name}' already exists");

    /// <summary>Replaces type, host and target of a pool no compute pool uses; identical values are refused.</summary>
    public async Task UpdateAsync(StoragePoolRow pool)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var current = await c.QuerySingleOrDefaultAsync<StoragePoolRow>(
            $"SELECT {Columns} FROM storage_pools WHERE name = @Name FOR UPDATE", pool, tx)
            ?? throw Fail.NotFound($"storage pool '{pool.Name}' not found");
        if (current == pool)
            throw Fail.Precondition($"storage pool '{pool.Name}' already has these settings");
        var user = await c.QueryFirstOrDefaultAsync<string>("SELECT name FROM compute_pools WHERE storage = @Name LIMIT 1", pool, tx);
        if (user is not null)
            throw Fail.Precondition($"storage pool '{pool.Name}' is used by compute pool '{user}'");
        await c.ExecuteAsync("UPDATE storage_pools SET type = @Type, host = @Host, target = @Target WHERE name = @Name", pool, tx);
        await tx.CommitAsync();
    }

    public Task DeleteAsync(string name) =>
        db.DeleteOneAsync("DELETE FROM storage_pools WHERE name = @name", new { name },
            notFound: $"storage pool '{name}' not found", inUse: $"storage pool '{name}' is used by a compute pool");
}
