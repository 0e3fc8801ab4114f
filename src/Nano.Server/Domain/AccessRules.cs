using Nano.Server.Domain.Rules;
namespace Nano.Server.Domain;

/// <summary>
/// Who may call what. Every public RPC needs a live session except the anonymous ones. A session may
/// change an area (call an RPC whose HTTP rule is not a GET) only when one of its group's roles
/// carries that area's menu tag. Reads need a session only, except those listed in <see cref="ReadMenus"/>.
/// </summary>
public static class AccessRules
{
    /// <summary>The menu of user administration: users, groups, roles and others' sessions.</summary>
    public const string UserMenu = "user";

    /// <summary>The menu tags a role may carry: the areas of the portal, each named as the portal names it.</summary>
    public static readonly IReadOnlyList<string> MenuTags =
    [
        "dashboard", "compute_pool", "address_pool", "storage_pool", "instance", "image", "media", "templates", "policies", UserMenu, "log", "visibility",
    ];

    /// <summary>Callable without a session: log in and first-run initialisation.</summary>
    private static readonly HashSet<string> Anonymous =
    [
        "/nano.v1.SessionService/CreateSession",
        "/nano.v1.SystemService/GetSystemStatus",
        "/nano.v1.SystemService/InitializeSystem",
    ];

    /// <summary>
    /// The menu tag needed to change each area, by service, with per-method exceptions. A null tag
    /// means any session may call it (the service may check more itself).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> ChangeMenus = new Dictionary<string, string?>
    {
        ["nano.v1.ComputePoolService"] = "compute_pool",
        ["nano.v1.StoragePoolService"] = "storage_pool",
        ["nano.v1.StatusService"] = "dashboard",
        ["nano.v1.ZoneService"] = "dashboard",
        ["nano.v1.OperationService"] = null, // cancelling one's own operations; the service checks ownership
        ["nano.v1.AddressPoolService"] = "address_pool",
        ["nano.v1.GuestService"] = "instance",
        ["nano.v1.GuestService/SearchGuests"] = null, // a query sent as POST
        ["nano.v1.InstanceService"] = "instance",
        ["nano.v1.SnapshotService"] = "instance",
        ["nano.v1.MonitorChannelService"] = "instance",
        ["nano.v1.BatchService"] = "instance",
        ["nano.v1.MigrationService"] = "compute_pool",
        ["nano.v1.MediaImageService"] = "media",
        ["nano.v1.DiskImageService"] = "image",
        ["nano.v1.ImageFileService"] = null, // uploads need "media" or "image" by the image's kind (ImageCatalog checks)
        ["nano.v1.TemplateService"] = "templates",
        ["nano.v1.SecurityPolicyGroupService"] = "policies",
        ["nano.v1.RoleService"] = UserMenu,
        ["nano.v1.UserGroupService"] = UserMenu,
        ["nano.v1.UserService"] = UserMenu,
        ["nano.v1.UserService/ChangeUserPassword"] = null, // own password; another's needs "user" (checked in the service)
        ["nano.v1.SessionService"] = null, // keep-alive and log-out of one's own session (checked in the service)
        ["nano.v1.ResourceVisibilityService"] = "visibility",
        ["nano.v1.LogService"] = "log",
        ["nano.v1.LogService/AddLog"] = null, // every user writes log lines (the portal logs each login and logout)
        ["nano.v1.SystemService"] = null,
    };

    /// <summary>
    /// Reads that need a menu too, by service or service/method: a migration's state is handed out once and then
    /// forgotten (api-decisions.md 4.10), so reading it is the compute pool administrators' business, not every
    /// session's; so is the list of domains on the cells that no guest claims.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ReadMenus = new Dictionary<string, string>
    {
        ["nano.v1.MigrationService"] = "compute_pool",
        ["nano.v1.ComputePoolService/ListUnknownDomains"] = "compute_pool",
    };

    public static bool IsAnonymous(ApiMethod method) => Anonymous.Contains(method.Path);

    /// <summary>The menu tag a call needs, or null when a session is enough.</summary>
    public static string? RequiredMenu(ApiMethod method)
    {
        if (!method.Changes)
            return ReadMenus.TryGetValue($"{method.Service}/{method.Name}", out var read) || ReadMenus.TryGetValue(method.Service, out read) ? read : null;
        if (ChangeMenus.TryGetValue($"{method.Service}/{method.Name}", out var tag) || ChangeMenus.TryGetValue(method.Service, out tag))
            return tag;
        throw new InvalidOperationException($"no access rule for {method.Path}");
    }

    /// <summary>
    /// A user administrator (one of its roles carries the user menu) sees everyone's guests, images, operations and
    /// sessions, and may act on them: the one place of that rule.
    /// </summary>
    public static bool SeesEverything(SessionContext session) => session.Menu.Contains(UserMenu, StringComparer.Ordinal);

    /// <summary>
    /// Whether the session may change (and so read) what <paramref name="owner"/> owns: its own, or anything as a user
    /// administrator. A group's visibility flags let its members read each other's guests and images, never change them.
    /// </summary>
    public static bool MayChange(SessionContext session, string owner) => owner == session.User || SeesEverything(session);

    /// <summary>
    /// Refuses (PERMISSION_DENIED) a change of <paramref name="what"/>, which <paramref name="owner"/> owns, unless the
    /// session may change it (<see cref="MayChange"/>): reading it through its group is not enough.
    /// </summary>
    public static void RequireMayChange(SessionContext session, string owner, string what)
    {
        if (!MayChange(session, owner))
            throw Fail.Denied($"{what} belongs to user '{owner}': only its owner or a user administrator changes it");
    }

    /// <summary>
    /// A record created (or renamed) into <paramref name="owner"/> and <paramref name="group"/>: only a user administrator
    /// puts one into another user's name or another group; anyone else is refused (PERMISSION_DENIED).
    /// </summary>
    public static void RequireOwnName(SessionContext session, string what, string? owner, string? group)
    {
        if (SeesEverything(session))
            return;
        if (!string.IsNullOrEmpty(owner) && owner != session.User)
            throw Fail.Denied($"only a user administrator puts {what} into another user's name ('{owner}')");
        if (!string.IsNullOrEmpty(group) && group != session.Group)
            throw Fail.Denied($"only a user administrator puts {what} into another group ('{group}')");
    }

    /// <summary>The owner a listing is limited to: none (null) for a user administrator, else the session's user.</summary>
    public static string? ListedOwner(SessionContext session) => SeesEverything(session) ? null : session.User;

    /// <summary>Throws PERMISSION_DENIED unless the session's roles carry <paramref name="menu"/>.</summary>
    public static void Demand(SessionContext session, string menu)
    {
        if (!session.Menu.Contains(menu, StringComparer.Ordinal))
            throw Fail.Denied($"user '{session.User}' may not change this: its roles lack the '{menu}' menu");
    }
}
