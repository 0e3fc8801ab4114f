namespace Nano.Libvirt;

/// <summary>The remote console of a domain, on a port libvirt picks (from 5900).</summary>
/// <param name="Protocol">"vnc" or "spice".</param>
/// <param name="Password">Console password.</param>
/// <param name="Listen">Address the console listens on.</param>
public sealed record DomainConsole(string Protocol, string Password, string Listen)
{
    /// <summary><paramref name="domainXml"/> with its consoles listening on <paramref name="listen"/> (a domain moving to another host).</summary>
    public static string ListenOn(string domainXml, string listen)
    {
        var domain = System.Xml.Linq.XElement.Parse(domainXml);
        foreach (var graphics in domain.Element("devices")?.Elements("graphics") ?? [])
        {
            graphics.SetAttributeValue("listen", listen);
            foreach (var address in graphics.Elements("listen").Where(l => (string?)l.Attribute("type") == "address"))
                address.SetAttributeValue("address", listen);
        }
        return domain.ToString(System.Xml.Linq.SaveOptions.DisableFormatting);
    }
}
