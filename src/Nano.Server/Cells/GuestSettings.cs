using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Cells;

/// <summary>
/// A guest's row as the settings a cell defines its domain from (<see cref="Of"/>: the one mapping from row to domain),
/// and everything a cell needs to define an existing guest elsewhere (<see cref="ForMoveAsync"/>: a migration, a failover).
/// </summary>
public sealed class GuestSettings(SecurityPolicyRepository policies, ImageRepository images)
{
    /// <summary>The hardware, limits, console and generation of the row, as the cell protocol carries them.</summary>
    public static CreateInstance Of(GuestRow g) => new()
    {
        GuestId = g.Id.ToString(),
        Cores = g.Cores,
        Memory = g.Memory,
        Disks = { g.Disks },
        Mac = g.EthernetAddress ?? "",
        Address = g.InternalAddress.Split('/')[0],
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


    /// <summary>
    /// The guest's settings in its current generation, its firewall, the image its system volume overlays, and CPU
    /// definition <paramref name="cpu"/> (its pool's, which every cell of the pool starts; a running guest moving live keeps its own).
    /// </summary>
    public async Task<CreateInstance> ForMoveAsync(GuestRow guest, string cpu)
    {
        var settings = Of(guest);
        settings.Cpu = cpu;
        settings.SecurityPolicy = CellCommands.Firewall(await policies.GuestPolicyAsync(guest.Id));
        if (guest.SystemImage is { } imageId && await images.FindAnyAsync(imageId) is { } image)
            settings.SystemImage = CellCommands.Cached(image);
        return settings;
    }
}
