using System.Xml.Linq;

namespace Nano.Libvirt;

/// <summary>
/// The media drive of a Nano domain: a CD-ROM with the user alias "ua-media" (the cloud-init seed is
/// another CD-ROM). These functions rewrite domain XML to put an ISO into it or to boot from it.
/// </summary>
public static class DomainMedia
{
    /// <summary>libvirt user aliases start with "ua-".</summary>
    public const string Alias = "ua-media";

    /// <summary>The media drive's device XML with <paramref name="isoPath"/> inserted, or empty when null (for a live update).</summary>
    public static string DriveXml(string domainXml, string? isoPath)
    {
        var drive = new XElement(FindDrive(XElement.Parse(domainXml)));
        drive.Element("boot")?.Remove();
        SetSource(drive, isoPath);
        return drive.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>
    /// The definition that boots <paramref name="isoPath"/> once: the ISO in the media drive, which comes
    /// first in per-device boot order, then the first disk (the general &lt;os&gt; boot list is dropped, as libvirt requires).
    /// </summary>
    public static string BootFromXml(string domainXml, string isoPath)
    {
        var domain = XElement.Parse(domainXml);
        domain.Element("os")?.Elements("boot").Remove();
        var devices = domain.Element("devices") ?? throw new InvalidOperationException("the domain has no devices");
        foreach (var disk in devices.Elements("disk"))
            disk.Element("boot")?.Remove();
        var drive = FindDrive(domain);
        SetSource(drive, isoPath);
        drive.Add(new XElement("boot", new XAttribute("order", 1)));
        devices.Elements("disk").FirstOrDefault(d => (string?)d.Attribute("device") == "disk")?.Add(new XElement("boot", new XAttribute("order", 2)));
        return domain.ToString(SaveOptions.DisableFormatting);
    }

    /// <summary>The ISO in the media drive of a domain's XML, or null when the drive is empty.</summary>
    public static string? Inserted(string domainXml) => (string?)FindDrive(XElement.Parse(domainXml)).Element("source")?.Attribute("file");

    private static XElement FindDrive(XElement domain) =>
        domain.Element("devices")?.Elements("disk").FirstOrDefault(d => (string?)d.Element("alias")?.Attribute("name") == Alias)
        ?? throw new InvalidOperationException("the domain has no media drive (it was defined before media drives existed: redefine it)");

    private static void SetSource(XElement drive, string? isoPath)
    {
        drive.Element("source")?.Remove();
        if (isoPath is not null)
            drive.Element("driver")?.AddAfterSelf(new XElement("source", new XAttribute("file", isoPath)));
    }
}
