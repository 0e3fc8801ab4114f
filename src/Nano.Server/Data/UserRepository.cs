using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A user row; the hash never leaves the server.</summary>
public sealed record UserRow(string Name, string Nick, string Mail, string PasswordHash, string? GroupName);

/// <summary>Users and their passwords.</summary>
public sealed class UserRepository(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<string>> ListNamesAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<string>("SELECT name FROM users ORDER BY name")).AsList();
    }

    /// <summary>Names of the members of a group, or of users in no group when <paramref name="group"/> is null.</summary>
    public async Task<IReadOnlyList<string>> ListByGroupAsync(string? group)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<string>(
            "SELECT name FROM users WHERE group_name IS NOT DISTINCT FROM @group ORDER BY name", new { group })).AsList();
    }

    public async Task<UserRow?> FindAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<UserRow>(
            "SELECT name, nick, mail, password_hash, group_name FROM users WHERE name = @name", new { name });
    }

    public async Task<bool> AnyAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM users)");
    }

    public Task<Written> CreateAsync(string name, string nick, string mail, string passwordHash) =>
        db.WriteOneAsync("INSERT INTO users (name, nick, mail, password_hash) VALUES (@name, @nick, @mail, @passwordHash)",
            new { name, nick, mail, passwordHash });

    /// <summary>Changes nick and mail; an empty value keeps the stored one.</summary>
    public Task<Written> UpdateProfileAsync(string name, string nick, string mail) => db.WriteOneAsync("""
        UPDATE users SET nick = COALESCE(NULLIF(@nick, ''), nick), mail = COALESCE(NULLIF(@mail, ''), mail)
        WHERE name = @name
        """, new { name, nick, mail });

    public async Task SetPasswordAsync(string name, string passwordHash)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE users SET password_hash = @passwordHash WHERE name = @name", new { name, passwordHash });
    }

    /// <summary>Deletes the user; its membership goes with the row and its sessions by cascade.</summary>
    public Task<Written> DeleteAsync(string name) => db.WriteOneAsync("DELETE FROM users WHERE name = @name", new { name });
}
