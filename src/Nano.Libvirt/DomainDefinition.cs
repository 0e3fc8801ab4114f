using System.Xml.Linq;

namespace Nano.Libvirt;

/// <summary>
/// A typed domain definition, written to libvirt XML with proper escaping. Every domain Nano defines
/// carries <see cref="Owner"/> as metadata, so an agent finds its own domains among others on a host.
/// </summary>
public sealed record DomainDefinition
{
    /// <summary>libvirt driver type: "kvm", "qemu" (TCG) or "test".</summary>
    public required string Type { get; init; }

    public required string Name { get; init; }

    public required string Uuid { get; init; }

    public required long MemoryBytes { get; init; }

    public required int VirtualCpus { get; init; }

    public required DomainOwner Owner { get; init; }

    /// <summary>Disks and CD-ROMs, in order (the first boots).</summary>
    public IReadOnlyList<DomainDisk> Disks { get; init; } = [];

    public DomainNic? Nic { get; init; }

    public DomainConsole? Console { get; init; }

    /// <summary>Video model: "vga", "cirrus", "qxl", "virtio" or "none".</summary>
    public string Video { get; init; } = "";

    /// <summary>USB controller model ("nec-xhci"); empty for the default.</summary>
    public string UsbController { get; init; } = "";

    /// <summary>Tablet bus ("usb" or "virtio"); empty for none.</summary>
    public string Tablet { get; init; } = "";

    /// <summary>Adds the QEMU guest agent channel.</summary>
    public bool GuestAgent { get; init; }

    /// <summary>Relative CPU weight (cputune shares); 0 for the default.</summary>
    public int CpuShares { get; init; }

    /// <summary>Share of each period a vCPU may run, in percent (cputune quota); 0 or 100 for no limit.</summary>
    public int CpuQuotaPercent { get; init; }

    /// <summary>Bus of an empty CD-ROM drive for media images (see <see cref="DomainMedia"/>); empty for none.</summary>
    public string MediaDriveBus { get; init; } = "";

    /// <summary>The CPU the guest sees (<see cref="DomainCpu"/>); empty for the hypervisor's default.</summary>
    public string Cpu { get; init; } = "";

    /// <summary>The guest clock runs in local time (Windows guests).</summary>
    public bool LocalTimeClock { get; init; }

    private const int CpuPeriodMicroseconds = 100_000;

    public string ToXml()
    {
        var domain = new XElement("domain", new XAttribute("type", Type),
            new XElement("name", Name),
            new XElement("uuid", Uuid),
            new XElement("metadata", Owner.ToElement()),
            new XElement("memory", new XAttribute("unit", "KiB"), MemoryBytes / 1024),
            new XElement("currentMemory", new XAttribute("unit", "KiB"), MemoryBytes / 1024),
            new XElement("vcpu", new XAttribute("placement", "static"), VirtualCpus),
            CpuTune(),
            new XElement("os", new XElement("type", "hvm"), new XElement("boot", new XAttribute("dev", "hd")),
                Disks.Any(d => d.Cdrom) || MediaDriveBus.Length > 0 ? new XElement("boot", new XAttribute("dev", "cdrom")) : null),
            Type == "test" ? null : new XElement("features", new XElement("acpi"), new XElement("apic")),
            Cpu.Length == 0 ? null : DomainCpu.Element(Cpu),
            Type == "test" ? null : new XElement("clock", new XAttribute("offset", LocalTimeClock ? "localtime" : "utc")),
            new XElement("on_poweroff", "destroy"),
            new XElement("on_reboot", "restart"),
            new XElement("on_crash", "destroy"),
            Devices());
        return domain.ToString(SaveOptions.DisableFormatting);
    }

    private XElement? CpuTune()
    {
        if (CpuShares <= 0 && CpuQuotaPercent is <= 0 or >= 100)
            return null;
        return new XElement("cputune",
            CpuShares > 0 ? new XElement("shares", CpuShares) : null,
            CpuQuotaPercent is > 0 and < 100 ? new XElement("period", CpuPeriodMicroseconds) : null,
            CpuQuotaPercent is > 0 and < 100 ? new XElement("quota", CpuPeriodMicroseconds * CpuQuotaPercent / 100) : null);
    }

    private XElement? Devices()
    {
        if (Disks.Count == 0 && Nic is null && Console is null && Video.Length == 0)
            return null;
        var devices = new XElement("devices");
        var used = new Dictionary<string, int>();
        foreach (var disk in Disks)
            devices.Add(DiskElement(disk, used));
        if (MediaDriveBus.Length > 0)
        {
            var drive = DiskElement(new DomainDisk("", MediaDriveBus, Cdrom: true), used);
            drive.Add(new XElement("alias", new XAttribute("name", DomainMedia.Alias)));
            devices.Add(drive);
        }
        if (Disks.Any(d => d.Bus == "scsi"))
            devices.Add(new XElement("controller", new XAttribute("type", "scsi"), new XAttribute("model", "virtio-scsi")));
        if (UsbController.Length > 0)
            devices.Add(new XElement("controller", new XAttribute("type", "usb"), new XAttribute("model", UsbController)));
        if (Nic is { } nic)
            devices.Add(NicElement(nic));
        if (Tablet.Length > 0)
            devices.Add(new XElement("input", new XAttribute("type", "tablet"), new XAttribute("bus", Tablet)));
        if (Console is { } console)
        {
            devices.Add(new XElement("graphics", new XAttribute("type", console.Protocol), new XAttribute("autoport", "yes"),
                new XAttribute("listen", console.Listen), new XAttribute("passwd", console.Password),
                new XElement("listen", new XAttribute("type", "address"), new XAttribute("address", console.Listen))));
        }
        if (Video.Length > 0)
            devices.Add(new XElement("video", new XElement("model", new XAttribute("type", Video))));
        if (GuestAgent)
        {
            devices.Add(new XElement("channel", new XAttribute("type", "unix"),
                new XElement("target", new XAttribute("type", "virtio"), new XAttribute("name", "org.qemu.guest_agent.0"))));
        }
        if (Type != "test")
        {
            devices.Add(new XElement("serial", new XAttribute("type", "pty")));
            devices.Add(new XElement("console", new XAttribute("type", "pty")));
            devices.Add(new XElement("memballoon", new XAttribute("model", "virtio")));
        }
        return devices;
    }

    /// <summary>Target names follow the bus: vda.. (virtio), sda.. (scsi, sata), hda.. (ide).</summary>
    private static XElement DiskElement(DomainDisk disk, Dictionary<string, int> used)
    {
        var prefix = disk.Bus switch { "virtio" => "vd", "ide" => "hd", _ => "sd" };
        var index = used.GetValueOrDefault(prefix);
        used[prefix] = index + 1;
        var iotune = new XElement("iotune",
            disk.ReadBytesPerSecond > 0 ? new XElement("read_bytes_sec", disk.ReadBytesPerSecond) : null,
            disk.WriteBytesPerSecond > 0 ? new XElement("write_bytes_sec", disk.WriteBytesPerSecond) : null,
            disk.ReadIopsPerSecond > 0 ? new XElement("read_iops_sec", disk.ReadIopsPerSecond) : null,
            disk.WriteIopsPerSecond > 0 ? new XElement("write_iops_sec", disk.WriteIopsPerSecond) : null);
        return new XElement("disk", new XAttribute("type", "file"), new XAttribute("device", disk.Cdrom ? "cdrom" : "disk"),
            new XElement("driver", new XAttribute("name", "qemu"), new XAttribute("type", disk.Cdrom ? "raw" : "qcow2")),
            disk.Path.Length > 0 ? new XElement("source", new XAttribute("file", disk.Path)) : null,
            new XElement("target", new XAttribute("dev", prefix + (char)('a' + index)), new XAttribute("bus", disk.Bus)),
            disk.Cdrom ? new XElement("readonly") : null,
            iotune.HasElements ? iotune : null);
    }

    private static XElement NicElement(DomainNic nic)
    {
        var bandwidth = new XElement("bandwidth",
            nic.InboundKiBps > 0 ? Limit("inbound", nic.InboundKiBps) : null,
            nic.OutboundKiBps > 0 ? Limit("outbound", nic.OutboundKiBps) : null);
        return new XElement("interface", new XAttribute("type", nic.Bridge is null ? "user" : "bridge"),
            new XElement("mac", new XAttribute("address", nic.Mac)),
            nic.Bridge is null ? null : new XElement("source", new XAttribute("bridge", nic.Bridge)),
            new XElement("model", new XAttribute("type", nic.Model)),
            nic.Filter is null || nic.Bridge is null ? null : new XElement("filterref", new XAttribute("filter", nic.Filter),
                nic.FilterParameters.Select(p => new XElement("parameter", new XAttribute("name", p.Key), new XAttribute("value", p.Value)))),
            bandwidth.HasElements ? bandwidth : null);

        static XElement Limit(string direction, long kib) => new(direction,
            new XAttribute("average", kib), new XAttribute("peak", kib * 2), new XAttribute("burst", kib));
    }
}
