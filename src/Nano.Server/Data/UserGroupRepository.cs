using Dapper;
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

    /// <summary>Exists when the name is taken; Missing (with the role's name) when a listed role does not exist.</summary>
    public Task<Written> CreateAsync(string name, string display, string[] roles) =>
        WriteWithRolesAsync("INSERT INTO user_groups (name, display) VALUES (@name, @display)", name, display, roles);

    /// <summary>Replaces the display text and the whole role set; Missing (with the role's name) when a listed role does not exist.</summary>
    public Task<Written> UpdateAsync(string name, string display, string[] roles) =>
        WriteWithRolesAsync("UPDATE user_groups SET display = @display WHERE name = @name", name, display, roles);

    /// <summary>InUse while the group has members.</summary>
    public Task<Written> DeleteAsync(string name) => db.WriteOneAsync("DELETE FROM user_groups WHERE name = @name", new { name });

    /// <summary>
    /// Adds a user that belongs to no group yet: Missing with cause "user" or "group" when that one does not exist,
    /// InUse when the user has a group.
    /// </summary>
    public async Task<Written> AddMemberAsync(string group, string user)
    {
        await using var c = await db.OpenConnectionAsync();
        if (!await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM users WHERE name = @user)", new { user }))
            return Written.Missing("user");
        if (!await ExistsAsync(group))
            return Written.Missing("group");
        return await c.ExecuteAsync("UPDATE users SET group_name = @group WHERE name = @user AND group_name IS NULL", new { group, user }) == 1
            ? Written.Done
            : Written.InUse();
    }

    /// <summary>Missing with cause "group" when the group does not exist, Missing when the user is not one of its members.</summary>
    public async Task<Written> RemoveMemberAsync(string group, string user) =>
        await ExistsAsync(group)
            ? await db.WriteOneAsync("UPDATE users SET group_name = NULL WHERE name = @user AND group_name = @group", new { group, user })
            : Written.Missing("group");

    public async Task<VisibilityRow?> GetVisibilityAsync(string group)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<VisibilityRow>(
            "SELECT instance_visible, media_image_visible, disk_image_visible FROM user_groups WHERE name = @group", new { group });
    }

    public Task<Written> SetVisibilityAsync(string group, VisibilityRow flags) => db.WriteOneAsync("""
        UPDATE user_groups SET instance_visible = @InstanceVisible, media_image_visible = @MediaImageVisible,
                               disk_image_visible = @DiskImageVisible
        WHERE name = @group
        """, new { group, flags.InstanceVisible, flags.MediaImageVisible, flags.DiskImageVisible });

    /// <summary>Writes the group's row with <paramref name="sql"/>, then its role set, in one transaction.</summary>
    private async Task<Written> WriteWithRolesAsync(string sql, string name, string display, string[] roles)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var written = await c.WriteAsync(sql, new { name, display }, tx);
        if (written.Outcome == WriteOutcome.Done)
            written = await ReplaceRolesAsync(c, tx, name, roles);
        if (written.Outcome == WriteOutcome.Done)
            await tx.CommitAsync();
        return written;
    }

    private static async Task<Written> ReplaceRolesAsync(NpgsqlConnection c, NpgsqlTransaction tx, string group, string[] roles)
    {
        var missing = await c.QueryFirstOrDefaultAsync<string>(
            "SELECT r FROM unnest(@roles) AS r WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = r)", new { roles }, tx);
        if (missing is not null)
            return Written.Missing(missing);
        await c.ExecuteAsync("DELETE FROM user_group_roles WHERE group_name = @group", new { group }, tx);
        await c.ExecuteAsync(
            "INSERT INTO user_group_roles (group_name, role_name) SELECT @group, r FROM unnest(@roles) AS r",
            new { group, roles }, tx);
        return Written.Done;
    }
}
