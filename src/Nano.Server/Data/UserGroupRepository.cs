using Dapper;
using Nano.Server.Domain;
using Npgsql;

namespace Nano.Server.Data;

public sealed record UserGroupSummaryRow(string Name, string Display, int Member);

public sealed record UserGroupRow
{
    public required string Name { get; init; }
    public required string Display { get; init; }
    public required string[] Roles { get; init; }
    public required string[] Members { get; init; }
}

public sealed record VisibilityRow(bool InstanceVisible, bool MediaImageVisible, bool DiskImageVisible);

/// <summary>User groups with their roles, members and resource visibility flags.</summary>
public sealed class UserGroupRepository(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<UserGroupSummaryRow>> ListAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<UserGroupSummaryRow>("""
            SELECT g.name, g.display, (SELECT count(*)::int FROM users u WHERE u.group_name = g.name) AS member
            FROM user_groups g ORDER BY g.name
            """)).AsList();
    }

    public async Task<UserGroupRow?> FindAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<UserGroupRow>("""
            SELECT g.name, g.display,
                   ARRAY(SELECT r.role_name FROM user_group_roles r WHERE r.group_name = g.name ORDER BY r.role_name) AS roles,
                   ARRAY(SELECT u.name FROM users u WHERE u.group_name = g.name ORDER BY u.name) AS members
            FROM user_groups g WHERE g.name = @name
            """, new { name });
    }

    public async Task<bool> ExistsAsync(string name)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM user_groups WHERE name = @name)", new { name });
    }

    public async Task CreateAsync(string name, string display, string[] roles)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        try
        {
            await c.ExecuteAsync("INSERT INTO user_groups (name, display) VALUES (@name, @display)", new { name, display }, tx);
            await InsertRolesAsync(c, tx, name, roles);
            await tx.CommitAsync();
        }
        catch (PostgresException e) when (e.IsUniqueViolation())
        {
            throw Fail.Exists($"user group '{name}' already exists");
        }
    }

    /// <summary>Replaces the display text and the whole role set.</summary>
    public async Task UpdateAsync(string name, string display, string[] roles)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        if (await c.ExecuteAsync("UPDATE user_groups SET display = @display WHERE name = @name", new { name, display }, tx) == 0)
            throw Fail.NotFound($"user group '{name}' not found");
        await c.ExecuteAsync("DELETE FROM user_group_roles WHERE group_name = @name", new { name }, tx);
        await InsertRolesAsync(c, tx, name, roles);
        await tx.CommitAsync();
    }

    public Task DeleteAsync(string name) =>
        db.DeleteOneAsync("DELETE FROM user_groups WHERE name = @name", new { name },
            notFound: $"user group '{name}' not found", inUse: $"user group '{name}' still has members");

    /// <summary>Adds a user that belongs to no group yet.</summary>
    public async Task AddMemberAsync(string group, string user)
    {
        await using var c = await db.OpenConnectionAsync();
        if (!await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM users WHERE name = @user)", new { user }))
            throw Fail.NotFound($"user '{user}' not found");
        if (!await ExistsAsync(group))
            throw Fail.NotFound($"user group '{group}' not found");
        var rows = await c.ExecuteAsync(
            "UPDATE users SET group_name = @group WHERE name = @user AND group_name IS NULL", new { group, user });
        if (rows == 0)
            throw Fail.Precondition($"user '{user}' already belongs to a group");
    }

    public async Task RemoveMemberAsync(string group, string user)
    {
        await using var c = await db.OpenConnectionAsync();
        if (!await ExistsAsync(group))
            throw Fail.NotFound($"user group '{group}' not found");
        if (await c.ExecuteAsync("UPDATE users SET group_name = NULL WHERE name = @user AND group_name = @group", new { group, user }) == 0)
            throw Fail.NotFound($"user '{user}' is not a member of '{group}'");
    }

    public async Task<VisibilityRow?> GetVisibilityAsync(string group)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<VisibilityRow>(
            "SELECT instance_visible, media_image_visible, disk_image_visible FROM user_groups WHERE name = @group", new { group });
    }

    public async Task SetVisibilityAsync(string group, VisibilityRow flags)
    {
        await using var c = await db.OpenConnectionAsync();
        var rows = await c.ExecuteAsync("""
            UPDATE user_groups SET instance_visible = @InstanceVisible, media_image_visible = @MediaImageVisible,
                                   disk_image_visible = @DiskImageVisible
            WHERE name = @group
            """, new { group, flags.InstanceVisible, flags.MediaImageVisible, flags.DiskImageVisible });
        if (rows == 0)
            throw Fail.NotFound($"user group '{group}' not found");
    }

    private static async Task InsertRolesAsync(NpgsqlConnection c, NpgsqlTransaction tx, string group, string[] roles)
    {
        var missing = await c.QueryFirstOrDefaultAsync<string>(
            "SELECT r FROM unnest(@roles) AS r WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = r)", new { roles }, tx);
        if (missing is not null)
            throw Fail.NotFound($"role '{missing}' not found");
        await c.ExecuteAsync(
            "INSERT INTO user_group_roles (group_name, role_name) SELECT @group, r FROM unnest(@roles) AS r",
            new { group, roles }, tx);
    }
}
