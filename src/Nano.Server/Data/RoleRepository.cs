using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>Roles: a name and its menu tags.</summary>
public sealed class RoleRepository(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<string>> ListNamesAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<string>("SELECT name FROM roles ORDER BY name")).AsList();
    }

    public async Task<string[]?> GetMenuAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<string[]>("SELECT menu FROM roles WHERE name = @name", new { name });
    }

    public Task<Written> CreateAsync(string name, string[] menu) =>
        db.WriteOneAsync("INSERT INTO roles (name, menu) VALUES (@name, @menu)", new { name, menu });

    public Task<Written> UpdateAsync(string name, string[] menu) =>
        db.WriteOneAsync("UPDATE roles SET menu = @menu WHERE name = @name", new { name, menu });

    /// <summary>InUse while a user group has the role.</summary>
    public Task<Written> DeleteAsync(string name) => db.WriteOneAsync("DELETE FROM roles WHERE name = @name", new { name });
}
