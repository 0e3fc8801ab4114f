using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Cells;

/// <summary>A guest's row as the settings its cell builds the domain from: the one mapping from row to domain.</summary>
public static class GuestSpec
{
    public static CreateInstance From(GuestRow g) => new()
    {
        GuestId = g.Id.ToString(),
        Cores = g.Cores,
        Memory = g.Memory,
        Disks = { g.Disks },
        Mac = g.EthernetAddress ?? "",
        MonitorSecret = g.MonitorSecret,
        GuestAgent = g.Modules.Contains("qemu"),
        AutoStart = g.AutoStart,
        Generation = g.Generation,
        Hardware = new Hardware
        {
            OperatingSystem = g.System, DiskBus = g.DiskBus, NicModel = g.NicModel, Display = g.Display, Control = g.DisplayProtocol,
            Usb = g.Usb, Tablet = g.Tablet,
        },
        Qos = new QosLimits
        {
            CpuPriority = g.CpuPriority, ReadSpeed = g.ReadSpeed, WriteSpeed = g.WriteSpeed, ReadIops = g.ReadIops, WriteIops = g.WriteIops,
            ReceiveSpeed = g.ReceiveSpeed, SendSpeed = g.SendSpeed,
        },
    };
}
