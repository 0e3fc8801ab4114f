using Dapper;
using Nano.Server.Domain;
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

    public Task CreateAsync(string name, string[] menu) =>
        db.InsertOneAsync("INSERT INTO roles (name, menu) VALUES (@name, @menu)", new { name, menu }, exists: $"role '{name}' already exists");

    public async Task UpdateAsync(string name, string[] menu)
    {
        await using var c = await db.OpenConnectionAsync();
        if (await c.ExecuteAsync("UPDATE roles SET menu = @menu WHERE name = @name", new { name, menu }) == 0)
            throw Fail.NotFound($"role '{name}' not found");
    }

    public Task DeleteAsync(string name) =>
        db.DeleteOneAsync("DELETE FROM roles WHERE name = @name", new { name },
            notFound: $"role '{name}' not found", inUse: $"role '{name}' is attached to a user group");
}
