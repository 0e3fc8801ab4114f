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

    public string ToXml()
    {
        XNamespace nano = DomainOwner.Namespace;
        var domain = new XElement("domain", new XAttribute("type", Type),
            new XElement("name", Name),
            new XElement("uuid", Uuid),
            new XElement("metadata", Owner.ToElement()),
            new XElement("memory", new XAttribute("unit", "KiB"), MemoryBytes / 1024),
            new XElement("vcpu", VirtualCpus),
            new XElement("os", new XElement("type", "hvm")),
            new XElement("on_poweroff", "destroy"),
            new XElement("on_reboot", "restart"),
            new XElement("on_crash", "destroy"));
        return domain.ToString(SaveOptions.DisableFormatting);
    }
}
