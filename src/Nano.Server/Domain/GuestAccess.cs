using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Who may see and act on a guest by id: its owner; members of its group when the group's
/// instance_visible flag is on; and user administrators (the first-run role), who keep the documented,
/// unrestricted behaviour. Everyone else is told the guest does not exist.
/// </summary>
public sealed class GuestAccess(GuestRepository guests, UserGroupRepository groups)
{
    public async Task<GuestRow> FindAsync(SessionContext session, string id)
    {
        if (!Guid.TryParse(id, out var guid))
            throw Fail.NotFound($"guest '{(id.Length > 40 ? id[..40] : id)}' not found");
        var guest = await guests.FindAsync(guid);
        if (guest is null || !await MaySeeAsync(session, guest))
            throw Fail.NotFound($"guest '{id}' not found");
        return guest;
    }

    /// <summary>The group whose guests the session may list besides its own (when the group's instance_visible is on), or null.</summary>
    public async Task<string?> VisibleGroupAsync(SessionContext session) =>
        session.Group.Length > 0 && (await groups.GetVisibilityAsync(session.Group))?.InstanceVisible == true ? session.Group : null;

    private async Task<bool> MaySeeAsync(SessionContext session, GuestRow guest)
    {
        if (AccessRules.MaySee(session, guest.Owner))
            return true;
        return guest.GroupName == session.Group && (await groups.GetVisibilityAsync(session.Group))?.InstanceVisible == true;
    }
}
