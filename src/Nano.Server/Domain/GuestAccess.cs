using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Who may see and act on a guest by id. Its owner and user administrators (the first-run role, who keep the documented,
/// unrestricted behaviour) read and change it; members of its group read it when the group's instance_visible flag is
/// on, without its secrets, and are refused any change. Everyone else is told the guest does not exist.
/// </summary>
public sealed class GuestAccess(GuestRepository guests, UserGroupRepository groups)
{
    /// <summary>A guest the session may change: its own, or any as a user administrator.</summary>
    public async Task<GuestRow> FindAsync(SessionContext session, string id)
    {
        var guest = await FindToReadAsync(session, id);
        AccessRules.RequireMayChange(session, guest.Owner, $"guest '{guest.Name}'");
        return guest;
    }

    /// <summary>A guest the session may read: one it may change, or one of its group when the group's instance_visible is on.</summary>
    public async Task<GuestRow> FindToReadAsync(SessionContext session, string id)
    {
        if (!Guid.TryParse(id, out var guid))
            throw Fail.NotFound($"guest '{(id.Length > 40 ? id[..40] : id)}' not found");
        var guest = await guests.FindAsync(guid);
        if (guest is null || !(MayChange(session, guest) || (guest.GroupName == session.Group && await VisibleGroupAsync(session) is not null)))
            throw Fail.NotFound($"guest '{id}' not found");
        return guest;
    }

    /// <summary>Whether the session may change the guest, and so read its secrets (monitor secret, administrator password).</summary>
    public static bool MayChange(SessionContext session, GuestRow guest) => AccessRules.MayChange(session, guest.Owner);

    /// <summary>The group whose guests the session may list besides its own (when the group's instance_visible is on), or null.</summary>
    public async Task<string?> VisibleGroupAsync(SessionContext session) =>
        session.Group.Length > 0 && (await groups.GetVisibilityAsync(session.Group))?.InstanceVisible == true ? session.Group : null;
}
