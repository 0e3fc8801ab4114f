using System.Xml.Linq;

namespace Nano.Libvirt;

/// <summary>
/// Whose a domain is (domain metadata): the Nano guest it implements, the cell that manages it, the guest's
/// generation when it was defined, and the zone it was defined for. The server counts a guest's generation up each
/// time the guest moves to another cell, so a copy left on a cell that was failed over is known to be stale; the zone
/// (an id made once per zone database; empty for domains defined before zones had ids) keeps zones that share a host
/// apart.
/// </summary>
public sealed record DomainOwner(string GuestId, string Cell, long Generation = 0, string Zone = "")
{
    public const string Namespace = "urn:nano-grpc:instance:1";
    private const string Prefix = "nano";

    internal XElement ToElement()
    {
        XNamespace ns = Namespace;
        return new XElement(ns + "instance", new XAttribute(XNamespace.Xmlns + Prefix, Namespace),
            new XAttribute("guest", GuestId), new XAttribute("cell", Cell), new XAttribute("generation", Generation),
            Zone.Length > 0 ? new XAttribute("zone", Zone) : null);
    }

    /// <summary><paramref name="domainXml"/> with this owner in its metadata, in place of the one it had.</summary>
    public string StampOnto(string domainXml)
    {
        var domain = XElement.Parse(domainXml);
        var metadata = domain.Element("metadata");
        if (metadata is null)
            domain.Add(metadata = new XElement("metadata"));
        metadata.Elements(XName.Get("instance", Namespace)).Remove();
        metadata.Add(ToElement());
        return domain.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>Reads the owner of <paramref name="domain"/>, or null when Nano did not define it.</summary>
    public static DomainOwner? Of(Domain domain)
    {
        var xml = domain.GetMetadata(Namespace);
        if (xml is null)
            return null;
        var element = XElement.Parse(xml);
        var guest = (string?)element.Attribute("guest");
        var cell = (string?)element.Attribute("cell");
        return guest is null || cell is null ? null : new DomainOwner(guest, cell, (long?)element.Attribute("generation") ?? 0, (string?)element.Attribute("zone") ?? "");
    }
}
