using Nano.Contracts.Cell.V1;
using Nano.Libvirt;

namespace Nano.Cell.Instances;

/// <summary>How an instance's settings become its libvirt domain definition.</summary>
public static class InstanceDomains
{
    /// <summary>CPU priority: cputune shares and the share of each period a vCPU may run (api-decisions.md 4.5).</summary>
    private static (int Shares, int QuotaPercent) CpuPriority(string priority) => priority switch
    {
        "medium" => (1000, 50),
        "low" => (500, 25),
        _ => (2000, 100),
    };

    public static DomainDefinition Of(InstanceHost host, CreateInstance create, IReadOnlyList<string> volumes, string? seed)
    {
        var hardware = create.Hardware ?? new Hardware();
        var qos = create.Qos ?? new QosLimits();
        var bus = hardware.DiskBus is "scsi" or "sata" or "ide" ? hardware.DiskBus : "sata";
        var (shares, quota) = CpuPriority(qos.CpuPriority);
        var disks = volumes.Select(v => new DomainDisk(v, bus)
        {
            ReadBytesPerSecond = qos.ReadSpeed, WriteBytesPerSecond = qos.WriteSpeed,
            ReadIopsPerSecond = qos.ReadIops, WriteIopsPerSecond = qos.WriteIops,
        }).ToList();
        if (seed is not null)
            disks.Add(new DomainDisk(seed, bus == "scsi" ? "sata" : bus, Cdrom: true));
        return new DomainDefinition
        {
            Type = host.Hypervisor.DomainType,
            Name = create.GuestId,
            Uuid = create.GuestId,
            MemoryBytes = create.Memory,
            VirtualCpus = create.Cores,
            Cpu = host.Cpus.For(create.Cpu),
            Owner = new DomainOwner(create.GuestId, host.CellName, create.Generation, host.Zone),
            Disks = disks,
            Nic = new DomainNic(create.Mac, hardware.NicModel.Length > 0 ? hardware.NicModel : "virtio", string.IsNullOrEmpty(host.Bridge) ? null : host.Bridge)
            {
                // Its firewall, which includes the base filter (clean-traffic, no DHCP server); a guest without one gets the base.
                Filter = !host.Hypervisor.SupportsFirewalls ? null
                    : host.Hypervisor.FirewallXml(InstanceFirewalls.Name(create.GuestId)) is not null ? InstanceFirewalls.Name(create.GuestId) : GuestBaseFilter.FilterName,
                FilterParameters = InstanceFirewalls.OwnAddress(create.Address),
                InboundKiBps = qos.ReceiveSpeed / 1024,
                OutboundKiBps = qos.SendSpeed / 1024,
            },
            Console = new DomainConsole(hardware.Control == "spice" ? "spice" : "vnc", create.MonitorSecret, host.ConsoleListen),
            Video = hardware.Display.Length > 0 ? hardware.Display : "vga",
            UsbController = hardware.Usb,
            Tablet = hardware.Tablet,
            GuestAgent = create.GuestAgent,
            CpuShares = shares,
            CpuQuotaPercent = quota,
            LocalTimeClock = hardware.OperatingSystem == "windows",
            MediaDriveBus = bus == "scsi" ? "sata" : bus,
        };
    }
}
