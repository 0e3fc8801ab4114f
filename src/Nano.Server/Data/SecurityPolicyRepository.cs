using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A security policy group's settings (its rules are read separately).</summary>
public sealed record PolicyGroupRow(Guid Id, string Name, string Description, string Owner, string GroupName, bool Enabled, bool Global, string DefaultAction);

/// <summary>The fields of a policy group a client sets (create and replace).</summary>
public sealed record PolicyGroupFields(string Name, string Description, string Owner, string GroupName, bool Enabled, bool Global, string DefaultAction);

/// <summary>A policy as stored, with the version of its row when it was read.</summary>
public sealed record StoredPolicy(SecurityPolicy Policy, long Version);

/// <summary>
/// Security policy groups and guests' policies. Rule lists are read with their row's version and written only
/// at that version (the domain starts again when another edit came in between), so concurrent edits never lose
/// one another and no row is held while a cell applies a guest's policy.
/// </summary>
public sealed class SecurityPolicyRepository(NpgsqlDataSource db)
{
    private const string GroupColumns = "id, name, description, owner, group_name, enabled, global, default_action";

    public async Task<PolicyGroupRow?> FindGroupAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<PolicyGroupRow>($"SELECT {GroupColumns} FROM security_policy_groups WHERE id = @id", new { id });
    }

    /// <summary>Groups in creation order, narrowed by owner, group, enabled and global when given.</summary>
    public async Task<IReadOnlyList<PolicyGroupRow>> SearchGroupsAsync(string? owner, string? group, bool enabledOnly, bool globalOnly)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<PolicyGroupRow>($"""
            SELECT {GroupColumns} FROM security_policy_groups
            WHERE (@owner::text IS NULL OR owner = @owner) AND (@group::text IS NULL OR group_name = @group)
              AND (NOT @enabledOnly OR enabled) AND (NOT @globalOnly OR global)
            ORDER BY created_at, id
            """, new { owner, group, enabledOnly, globalOnly })).AsList();
    }

    public Task<Written> CreateGroupAsync(Guid id, PolicyGroupFields f) => db.WriteOneAsync($"""
        INSERT INTO security_policy_groups ({GroupColumns}) VALUES (@id, @Name, @Description, @Owner, @GroupName, @Enabled, @Global, @DefaultAction)
        """, new DynamicParameters(f).With("id", id));

    public Task<Written> ReplaceGroupAsync(Guid id, PolicyGroupFields f) => db.WriteOneAsync("""
        UPDATE security_policy_groups SET name = @Name, description = @Description, owner = @Owner, group_name = @GroupName,
                                          enabled = @Enabled, global = @Global, default_action = @DefaultAction
        WHERE id = @id
        """, new DynamicParameters(f).With("id", id));

    public Task<Written> DeleteGroupAsync(Guid id) => db.WriteOneAsync("DELETE FROM security_policy_groups WHERE id = @id", new { id });

    /// <summary>A group's default action and rules (what a new guest copies).</summary>
    public async Task<SecurityPolicy?> GroupPolicyAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(string DefaultAction, string Rules)>(
            "SELECT default_action, rules::text FROM security_policy_groups WHERE id = @id", new { id });
        return row.DefaultAction is null ? null : new SecurityPolicy(row.DefaultAction, PolicyJson.FromJson(row.Rules));
    }

    /// <summary>A group's policy with the version of its rules, to change them.</summary>
    public async Task<StoredPolicy?> ReadGroupRulesAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(string DefaultAction, string Rules, long Version)>(
            "SELECT default_action, rules::text, rules_version FROM security_policy_groups WHERE id = @id", new { id });
        return row.DefaultAction is null ? null : new StoredPolicy(new SecurityPolicy(row.DefaultAction, PolicyJson.FromJson(row.Rules)), row.Version);
    }

    /// <summary>Writes a group's rules if they are still at <paramref name="version"/>: Busy when another edit came first, Missing when the group is gone.</summary>
    public async Task<Written> WriteGroupRulesAsync(Guid id, IReadOnlyList<PolicyRule> rules, long version)
    {
        await using var c = await db.OpenConnectionAsync();
        var written = await c.WriteAsync("""
            UPDATE security_policy_groups SET rules = @rules::jsonb, rules_version = rules_version + 1 WHERE id = @id AND rules_version = @version
            """, new { id, rules = PolicyJson.ToJson(rules), version });
        return await BusyIfExistsAsync(c, written, "SELECT EXISTS (SELECT 1 FROM security_policy_groups WHERE id = @id)", new { id });
    }

    public async Task<SecurityPolicy> GuestPolicyAsync(Guid guest)
    {
        await using var c = await db.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(string DefaultAction, string Rules)>(
            "SELECT default_action, rules::text FROM guest_security_policies WHERE guest = @guest", new { guest });
        return row.DefaultAction is null ? new SecurityPolicy("accept", []) : new SecurityPolicy(row.DefaultAction, PolicyJson.FromJson(row.Rules));
    }

    /// <summary>The policy a new guest starts with (inside its insertion's transaction).</summary>
    public static Task InsertGuestPolicyAsync(NpgsqlConnection c, NpgsqlTransaction tx, Guid guest, SecurityPolicy policy) => c.ExecuteAsync(
        "INSERT INTO guest_security_policies (guest, default_action, rules) VALUES (@guest, @action, @rules::jsonb)",
        new { guest, action = policy.DefaultAction, rules = PolicyJson.ToJson(policy.Rules) }, tx);

    /// <summary>A guest's policy with the version of its row, to change it; null when the guest has none.</summary>
    public async Task<StoredPolicy?> ReadGuestPolicyAsync(Guid guest)
    {
        await using var c = await db.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(string DefaultAction, string Rules, long Version)>(
            "SELECT default_action, rules::text, version FROM guest_security_policies WHERE guest = @guest", new { guest });
        return row.DefaultAction is null ? null : new StoredPolicy(new SecurityPolicy(row.DefaultAction, PolicyJson.FromJson(row.Rules)), row.Version);
    }

    /// <summary>Writes a guest's policy if it is still at <paramref name="version"/>: Busy when another edit came first, Missing when it is gone.</summary>
    public async Task<Written> WriteGuestPolicyAsync(Guid guest, SecurityPolicy policy, long version)
    {
        await using var c = await db.OpenConnectionAsync();
        var written = await c.WriteAsync("""
            UPDATE guest_security_policies SET default_action = @action, rules = @rules::jsonb, version = version + 1
            WHERE guest = @guest AND version = @version
            """, new { guest, action = policy.DefaultAction, rules = PolicyJson.ToJson(policy.Rules), version });
        return await BusyIfExistsAsync(c, written, "SELECT EXISTS (SELECT 1 FROM guest_security_policies WHERE guest = @guest)", new { guest });
    }

    /// <summary>A versioned write that touched no row: Busy when the row exists (its version moved on), else Missing.</summary>
    private static async Task<Written> BusyIfExistsAsync(NpgsqlConnection c, Written written, string exists, object args) =>
        written.Outcome == WriteOutcome.Missing && await c.ExecuteScalarAsync<bool>(exists, args) ? Written.Busy : written;
}
