using Dapper;
using Nano.Server.Domain;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A security policy group's settings (its rules are read separately).</summary>
public sealed record PolicyGroupRow(Guid Id, string Name, string Description, string Owner, string GroupName, bool Enabled, bool Global, string DefaultAction);

/// <summary>The fields of a policy group a client sets (create and replace).</summary>
public sealed record PolicyGroupFields(string Name, string Description, string Owner, string GroupName, bool Enabled, bool Global, string DefaultAction);

/// <summary>
/// Security policy groups and guests' policies. Rule lists change under a row lock: read, edit,
/// (for a guest) apply on its cell, write, in one transaction, so concurrent edits never lose one another.
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

    public Task CreateGroupAsync(Guid id, PolicyGroupFields f) => db.InsertOneAsync($"""
        INSERT INTO security_policy_groups ({GroupColumns}) VALUES (@id, @Name, @Description, @Owner, @GroupName, @Enabled, @Global, @DefaultAction)
        """, new DynamicParameters(f).With("id", id), $"a security policy group named '{f.Name}' exists already");

    public async Task ReplaceGroupAsync(Guid id, PolicyGroupFields f)
    {
        await using var c = await db.OpenConnectionAsync();
        try
        {
            if (await c.ExecuteAsync("""
                    UPDATE security_policy_groups SET name = @Name, description = @Description, owner = @Owner, group_name = @GroupName,
                                                      enabled = @Enabled, global = @Global, default_action = @DefaultAction
                    WHERE id = @id
                    """, new DynamicParameters(f).With("id", id)) == 0)
                throw GroupNotFound(id);
        }
        catch (PostgresException e) when (e.IsUniqueViolation())
        {
            throw Fail.Exists($"a security policy group named '{f.Name}' exists already");
        }
    }

    public Task DeleteGroupAsync(Guid id) =>
        db.DeleteOneAsync("DELETE FROM security_policy_groups WHERE id = @id", new { id }, $"security policy group '{id}' not found", "");

    /// <summary>A group's default action and rules (what a new guest copies).</summary>
    public async Task<SecurityPolicy?> GroupPolicyAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(string DefaultAction, string Rules)>(
            "SELECT default_action, rules::text FROM security_policy_groups WHERE id = @id", new { id });
        return row.DefaultAction is null ? null : new SecurityPolicy(row.DefaultAction, SecurityRules.FromJson(row.Rules));
    }

    /// <summary>Edits a group's rules under its row lock.</summary>
    public async Task ChangeGroupRulesAsync(Guid id, Func<IReadOnlyList<PolicyRule>, List<PolicyRule>> edit)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var json = await c.QuerySingleOrDefaultAsync<string>("SELECT rules::text FROM security_policy_groups WHERE id = @id FOR UPDATE", new { id }, tx)
            ?? throw GroupNotFound(id);
        var rules = SecurityRules.ToJson(edit(SecurityRules.FromJson(json)));
        await c.ExecuteAsync("UPDATE security_policy_groups SET rules = @rules::jsonb WHERE id = @id", new { id, rules }, tx);
        await tx.CommitAsync();
    }

    public async Task<SecurityPolicy> GuestPolicyAsync(Guid guest)
    {
        await using var c = await db.OpenConnectionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(string DefaultAction, string Rules)>(
            "SELECT default_action, rules::text FROM guest_security_policies WHERE guest = @guest", new { guest });
        return row.DefaultAction is null ? new SecurityPolicy("accept", []) : new SecurityPolicy(row.DefaultAction, SecurityRules.FromJson(row.Rules));
    }

    /// <summary>The policy a new guest starts with (inside its insertion's transaction).</summary>
    public static Task InsertGuestPolicyAsync(NpgsqlConnection c, NpgsqlTransaction tx, Guid guest, SecurityPolicy policy) => c.ExecuteAsync(
        "INSERT INTO guest_security_policies (guest, default_action, rules) VALUES (@guest, @action, @rules::jsonb)",
        new { guest, action = policy.DefaultAction, rules = SecurityRules.ToJson(policy.Rules) }, tx);

    /// <summary>
    /// Edits a guest's policy under its row lock; <paramref name="apply"/> enforces the new policy (on the
    /// guest's cell) before it is written: when the cell refuses, the policy stays as it was.
    /// </summary>
    public async Task ChangeGuestPolicyAsync(Guid guest, Func<SecurityPolicy, SecurityPolicy> edit, Func<SecurityPolicy, Task> apply)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var row = await c.QuerySingleOrDefaultAsync<(string DefaultAction, string Rules)>(
            "SELECT default_action, rules::text FROM guest_security_policies WHERE guest = @guest FOR UPDATE", new { guest }, tx);
        if (row.DefaultAction is null)
            throw Fail.NotFound($"guest '{guest}' has no security policy");
        var changed = edit(new SecurityPolicy(row.DefaultAction, SecurityRules.FromJson(row.Rules)));
        await apply(changed);
        await c.ExecuteAsync("UPDATE guest_security_policies SET default_action = @action, rules = @rules::jsonb WHERE guest = @guest",
            new { guest, action = changed.DefaultAction, rules = SecurityRules.ToJson(changed.Rules) }, tx);
        await tx.CommitAsync();
    }

    private static Grpc.Core.RpcException GroupNotFound(Guid id) => Fail.NotFound($"security policy group '{id}' not found");
}
