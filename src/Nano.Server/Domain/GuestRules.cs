using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>Validation of a guest creation request (api-decisions.md 1.2 GuestCreate, 4.5).</summary>
public static class GuestRules
{
    private static readonly string[] Modules = ["qemu", "cloud-init"];
    private static readonly string[] Priorities = ["high", "medium", "low"];

    public static GuestRequest Validate(GuestAsk r, SessionContext session, GuestLimits limits)
    {
        var name = InputRules.Name("guest", r.Name);
        AccessRules.RequireOwnName(session, "a guest", r.Owner, r.Group);
        var owner = InputRules.Name("owner", string.IsNullOrEmpty(r.Owner) ? session.User : r.Owner);
        var group = InputRules.Name("group", string.IsNullOrEmpty(r.Group) ? session.Group : r.Group);
        var pool = InputRules.Name("compute pool", r.Pool);
        if (string.IsNullOrEmpty(r.Template))
            throw Fail.Invalid("template is required");
        limits.RequireCores(r.Cores);
        limits.RequireMemory(r.Memory);
        if (r.Disks.Count is 0 or > 16)
            throw Fail.Invalid("disks must list 1 to 16 positive sizes in bytes, the system disk first");
        foreach (var disk in r.Disks)
            limits.RequireDisk(disk);
        var modules = r.Modules.Distinct().ToArray();
        if (modules.FirstOrDefault(m => !Modules.Contains(m)) is { } unknown)
            throw Fail.Invalid($"unknown module '{unknown}': only qemu and cloud-init");
        var qos = r.Qos is not { } q
            ? new GuestQos("high", 0, 0, 0, 0, 0, 0)
            : new GuestQos(Priorities.Contains(q.CpuPriority) ? q.CpuPriority : throw Fail.Invalid($"cpu_priority must be high, medium or low, not '{q.CpuPriority}'"),
                NonNegative("read_speed", q.ReadSpeed), NonNegative("write_speed", q.WriteSpeed), NonNegative("read_iops", q.ReadIops),
                NonNegative("write_iops", q.WriteIops), NonNegative("receive_speed", q.ReceiveSpeed), NonNegative("send_speed", q.SendSpeed));
        CloudInitSettings? cloudInit = null;
        if (r.CloudInit is { } ci)
        {
            var admin = string.IsNullOrEmpty(ci.AdminName) ? "" : InputRules.Name("admin_name", ci.AdminName);
            var secret = IdentityRules.Text("admin_secret", ci.AdminSecret, 128);
            var path = string.IsNullOrEmpty(ci.DataPath) ? "" : InputRules.AbsolutePath("data_path", ci.DataPath);
            cloudInit = new CloudInitSettings(ci.RootEnabled, admin, secret, path);
        }
        return new GuestRequest(name, owner, group, pool, r.Template, r.Cores, r.Memory, [.. r.Disks], r.AutoStart, modules, qos, cloudInit,
            string.IsNullOrEmpty(r.FromImage) ? null : r.FromImage, string.IsNullOrEmpty(r.SecurityPolicyGroup) ? null : r.SecurityPolicyGroup);
    }

    private static long NonNegative(string field, long value) => value >= 0 ? value : throw Fail.Invalid($"{field} must not be negative");
}
