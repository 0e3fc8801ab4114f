using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;

namespace Nano.Server.Services;

/// <summary>Guest rows as API messages.</summary>
public static class GuestMessages
{
    /// <summary>A creation request as the domain reads it (<see cref="GuestRules.Validate"/> checks it).</summary>
    public static GuestAsk Ask(CreateGuestRequest r) => new(r.Name, r.Owner, r.Group, r.Pool, r.Template, r.Cores, r.Memory, [.. r.Disks], r.AutoStart,
        [.. r.Modules], Qos(r.Qos), CloudInit(r.CloudInit), r.FromImage, r.SecurityPolicyGroup);

    /// <summary>The guests of a batch creation (#99), named by the batch.</summary>
    public static GuestAsk Ask(StartBatchCreateGuestRequest r) => new("", r.Owner, r.Group, r.Pool, r.Template, r.Cores, r.Memory, [.. r.Disks], r.AutoStart,
        [.. r.Modules], Qos(r.Qos), CloudInit(r.CloudInit), r.FromImage, "");

    private static GuestQos? Qos(Qos? q) =>
        q is null ? null : new GuestQos(q.CpuPriority, q.ReadSpeed, q.WriteSpeed, q.ReadIops, q.WriteIops, q.ReceiveSpeed, q.SendSpeed);

    private static CloudInitSettings? CloudInit(CloudInit? c) => c is null ? null : new CloudInitSettings(c.RootEnabled, c.AdminName, c.AdminSecret, c.DataPath);

    /// <summary>The configuration record; the monitor secret only in the detail (#36), as upstream.</summary>
    public static Guest ToGuest(GuestRow g) => ToGuest(g, withSecret: false);

    public static Guest ToGuest(GuestRow g, bool withSecret) => new()
    {
        Id = g.Id.ToString(),
        Name = g.Name,
        Created = g.Created,
        Progress = g.Progress,
        Running = g.Running,
        Lost = g.Lost,
        Owner = g.Owner,
        Group = g.GroupName,
        Pool = g.Pool,
        Cell = g.Cell ?? "",
        Host = g.Host ?? "",
        Cores = g.Cores,
        Memory = g.Memory,
        TotalDisk = g.Disks.Sum(),
        Disks = { g.Disks },
        AutoStart = g.AutoStart,
        System = g.System,
        MediaAttached = g.MediaSource is not null,
        SecurityPolicyGroup = g.SecurityPolicyGroup?.ToString() ?? "",
        MonitorSecret = withSecret ? g.MonitorSecret : "",
        EthernetAddress = g.EthernetAddress ?? "",
        DisplayProtocol = g.DisplayProtocol,
        Internal = new NetworkInterface { DisplayAddress = g.DisplayAddress, AllocatedAddress = g.InternalAddress },
        External = new NetworkInterface(),
        CreateTime = g.CreateTime is { } time ? NanoTime.Print(time) : "",
        Qos = new Qos
        {
            CpuPriority = g.CpuPriority, ReadSpeed = g.ReadSpeed, WriteSpeed = g.WriteSpeed, ReadIops = g.ReadIops, WriteIops = g.WriteIops,
            ReceiveSpeed = g.ReceiveSpeed, SendSpeed = g.SendSpeed,
        },
        Template = g.Template,
    };
}
