using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Security policy groups and guests' policies (api-decisions.md 4.9). A guest's policy changes only when its
/// cell has applied it (the guest's nwfilter is replaced; running guests included), so the stored policy
/// is the enforced one. A guest not created yet, or on a cell that is offline, cannot change its policy.
/// </summary>
public sealed class SecurityPolicies(SecurityPolicyRepository policies, CellCommands commands)
{
    /// <summary>A group's fields; only a user administrator names another user or group than the session's.</summary>
    public static PolicyGroupFields Fields(string? name, string? description, string? owner, string? group, bool enabled, bool global,
        string? defaultAction, SessionContext session)
    {
        AccessRules.RequireOwnName(session, "a security policy group", owner, group);
        return new(
            InputRules.Name("security policy group", name),
            string.IsNullOrEmpty(description) ? "" : IdentityRules.Text("description", description, 1024),
            InputRules.Name("user", string.IsNullOrEmpty(owner) ? session.User : owner),
            InputRules.Name("group", string.IsNullOrEmpty(group) ? (session.Group.Length > 0 ? session.Group : throw Fail.Invalid("group is required")) : group),
            enabled, global, SecurityRules.Action(defaultAction, "default_action"));
    }

    public async Task<PolicyGroupRow> FindGroupAsync(string id) =>
        (Guid.TryParse(id, out var guid) ? await policies.FindGroupAsync(guid) : null) ?? throw Fail.NotFound($"security policy group '{Short(id)}' not found");

    /// <summary>A group the session may change: its own, or any as a user administrator (the policies menu alone is not enough).</summary>
    public async Task<PolicyGroupRow> FindGroupToChangeAsync(SessionContext session, string id)
    {
        var group = await FindGroupAsync(id);
        AccessRules.RequireMayChange(session, group.Owner, $"security policy group '{group.Name}'");
        return group;
    }

    /// <summary>The policy a new guest starts with: a copy of <paramref name="groupId"/>'s (enabled, and global or the session's own), or accept-all.</summary>
    public async Task<(SecurityPolicy Policy, Guid? Group)> ForNewGuestAsync(string? groupId, SessionContext session)
    {
        if (string.IsNullOrEmpty(groupId))
            return (new SecurityPolicy("accept", []), null);
        var group = await FindGroupAsync(groupId);
        if (!group.Enabled)
            throw Fail.Precondition($"security policy group '{group.Name}' is disabled");
        if (!group.Global && group.GroupName != session.Group && !AccessRules.MayChange(session, group.Owner))
            throw Fail.NotFound($"security policy group '{Short(groupId)}' not found");
        return (await policies.GroupPolicyAsync(group.Id) ?? throw Fail.NotFound($"security policy group '{Short(groupId)}' not found"), group.Id);
    }

    /// <summary>Edits a group's rules (<see cref="OptimisticChange"/>: an edit that came in between is kept).</summary>
    public async Task ChangeGroupRulesAsync(SessionContext session, string id, Func<IReadOnlyList<PolicyRule>, List<PolicyRule>> edit)
    {
        var guid = (await FindGroupToChangeAsync(session, id)).Id;
        var notFound = $"security policy group '{guid}' not found";
        var stored = await policies.ReadGroupRulesAsync(guid) ?? throw Fail.NotFound(notFound);
        var written = await OptimisticChange.RunAsync(stored, () => policies.ReadGroupRulesAsync(guid),
            row => policies.WriteGroupRulesAsync(guid, edit(row.Policy.Rules), row.Version), _ => Task.CompletedTask, $"security policy group '{guid}'");
        written.OrFail(missing: notFound);
    }

    /// <summary>Edits a created guest's policy: its cell applies the result first, then it is stored (<see cref="OptimisticChange"/>).</summary>
    public async Task ChangeGuestAsync(GuestRow guest, Func<SecurityPolicy, SecurityPolicy> edit, CancellationToken cancellationToken)
    {
        GuestLifecycle.RequireCreated(guest);
        var notFound = $"guest '{guest.Id}' has no security policy";
        var stored = await policies.ReadGuestPolicyAsync(guest.Id) ?? throw Fail.NotFound(notFound);
        var written = await OptimisticChange.RunAsync(stored, () => policies.ReadGuestPolicyAsync(guest.Id), async row =>
            {
                var changed = edit(row.Policy);
                await commands.ApplyFirewallAsync(guest, changed, cancellationToken);
                return await policies.WriteGuestPolicyAsync(guest.Id, changed, row.Version);
            },
            row => commands.ApplyFirewallAsync(guest, row.Policy, cancellationToken), $"the security policy of guest '{guest.Name}'");
        written.OrFail(missing: notFound);
    }

    private static string Short(string id) => id.Length > 40 ? id[..40] : id;
}
