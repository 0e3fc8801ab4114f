using System.Xml.Linq;

namespace Nano.Libvirt;

/// <summary>Whose a domain is: the Nano guest it implements and the cell that manages it (domain metadata).</summary>
public sealed record DomainOwner(string GuestId, string Cell)
{
    public const string Namespace = "urn:nano-grpc:instance:1";
    private const string Prefix = "nano";

    internal XElement ToElement()
    {
        XNamespace ns = Namespace;
        return new XElement(ns + "instance", new XAttribute(XNamespace.Xmlns + Prefix, Namespace),
            new XAttribute("guest", GuestId), new XAttribute("cell", Cell));
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
        return guest is null || cell is null ? null : new DomainOwner(guest, cell);
    }
}
