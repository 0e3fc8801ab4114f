using System.Xml.Linq;

namespace Nano.Libvirt;

/// <summary>One rule for traffic arriving at a guest.</summary>
/// <param name="Accept">Accept (true) or reject.</param>
/// <param name="Protocol">"all", "tcp", "udp" or "icmp".</param>
/// <param name="FromAddress">Source IPv4 address; empty for any.</param>
/// <param name="ToAddress">Destination IPv4 address; empty for any.</param>
/// <param name="ToPort">Destination port (tcp, udp); 0 for any.</param>
public sealed record FirewallRuleDefinition(bool Accept, string Protocol, string FromAddress, string ToAddress, int ToPort);

/// <summary>A libvirt network filter a cell defines: its name, and its XML.</summary>
public interface INetworkFilter
{
    string Name { get; }

    string ToXml();
}

/// <summary>
/// A guest's firewall as a libvirt nwfilter in the root chain: traffic the guest starts (and the
/// answers to it) passes; arriving traffic meets the rules in order (priorities 100, 101, ...), then
/// the default action. libvirt's rules are stateful, so an accepted connection's replies pass too.
/// First of all it includes <see cref="GuestBaseFilter"/>, what every guest's NIC gets.
/// </summary>
public sealed record FirewallDefinition(string Name, string Uuid, bool DefaultAccept, IReadOnlyList<FirewallRuleDefinition> Rules) : INetworkFilter
{
    private const int FirstRulePriority = 100;

    public string ToXml()
    {
        var filter = new XElement("filter", new XAttribute("name", Name), new XAttribute("chain", "root"),
            new XElement("uuid", Uuid),
            new XElement("filterref", new XAttribute("filter", GuestBaseFilter.FilterName)),
            Rule(true, "out", FirstRulePriority - 10, new XElement("all")));
        for (var i = 0; i < Rules.Count; i++)
            filter.Add(Rule(Rules[i].Accept, "in", FirstRulePriority + i, Match(Rules[i])));
        filter.Add(Rule(DefaultAccept, "in", 1000, new XElement("all")));
        return filter.ToString(SaveOptions.DisableFormatting);
    }

    private static XElement Rule(bool accept, string direction, int priority, XElement match) =>
        new("rule", new XAttribute("action", accept ? "accept" : "reject"), new XAttribute("direction", direction),
            new XAttribute("priority", priority), match);

    private static XElement Match(FirewallRuleDefinition rule)
    {
        var match = new XElement(rule.Protocol is "tcp" or "udp" or "icmp" ? rule.Protocol : "all");
        if (rule.FromAddress.Length > 0)
            match.Add(new XAttribute("srcipaddr", rule.FromAddress));
        if (rule.ToAddress.Length > 0)
            match.Add(new XAttribute("dstipaddr", rule.ToAddress));
        if (rule.ToPort > 0 && rule.Protocol is "tcp" or "udp")
            match.Add(new XAttribute("dstportstart", rule.ToPort));
        return match;
    }
}

/// <summary>
/// What every guest's bridged NIC gets, with or without a firewall of its own: libvirt's clean-traffic (the guest
/// sends only from its own MAC and IP: the interface's MAC, and its IP parameter or the address libvirt learned; and
/// only IPv4 and ARP), and no DHCP server answers from the guest (UDP from port 67). A guest answering its neighbours'
/// DHCP requests would give them addresses and gateways of its choosing; and where libvirt learns a guest's address
/// from the DHCP answer it sees (CTRL_IP_LEARNING=dhcp, any server trusted), the neighbour would then be let send from
/// whatever address the rogue answer named. Defined once per host, under a fixed UUID, so redefining it is a no-op.
/// </summary>
public sealed class GuestBaseFilter : INetworkFilter
{
    public const string FilterName = "nano-guest-base";

    /// <summary>libvirt's anti-spoofing filter (Debian: libvirt-daemon-config-nwfilter).</summary>
    public const string CleanTraffic = "clean-traffic";

    private const string Uuid = "2f0d6c1e-5b8a-4c57-9a51-8d3e0b7c4a10";

    public static readonly GuestBaseFilter Instance = new();

    private GuestBaseFilter()
    {
    }

    public string Name => FilterName;

    public string ToXml() =>
        new XElement("filter", new XAttribute("name", FilterName), new XAttribute("chain", "root"),
            new XElement("uuid", Uuid),
            new XElement("filterref", new XAttribute("filter", CleanTraffic)),
            new XElement("rule", new XAttribute("action", "drop"), new XAttribute("direction", "out"), new XAttribute("priority", 50),
                new XElement("udp", new XAttribute("srcportstart", 67), new XAttribute("srcportend", 67))))
        .ToString(SaveOptions.DisableFormatting);
}
