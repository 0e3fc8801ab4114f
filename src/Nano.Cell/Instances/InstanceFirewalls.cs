using System.Net;
using System.Net.Sockets;
using System.Xml.Linq;
using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;

namespace Nano.Cell.Instances;

/// <summary>Each instance's firewall: a libvirt network filter named after its guest id, referenced by its NIC.</summary>
public sealed class InstanceFirewalls(IHypervisor hypervisor)
{
    /// <summary>The name of a guest's network filter (its firewall).</summary>
    public static string Name(string guestId) => $"nano-{guestId}";

    /// <summary>
    /// Defines or replaces the guest's firewall (an nwfilter its bridged NIC references); libvirt swaps the
    /// rules of a running guest at once.
    /// </summary>
    public void Apply(string guestId, FirewallPolicy policy)
    {
        if (!Guid.TryParse(guestId, out _))
            throw new ArgumentException($"'{guestId}' is not a guest id");
        if (!hypervisor.SupportsFirewalls)
            throw new InvalidOperationException($"this cell's hypervisor ({hypervisor.Type}) has no network filters");
        hypervisor.ApplyFirewall(new FirewallDefinition(Name(guestId), guestId, policy.DefaultAction != "reject",
            [.. policy.Rules.Select(r => new FirewallRuleDefinition(r.Action != "reject", r.Protocol, r.FromAddress, r.ToAddress, r.ToPort))]));
    }

    /// <summary>
    /// Defines the filter every guest's NIC includes (<see cref="GuestBaseFilter"/>) on this host; done when the agent
    /// joins, before any guest is created or arrives. False when the hypervisor has no network filters.
    /// </summary>
    public bool EnsureBase()
    {
        if (!hypervisor.SupportsFirewalls)
            return false;
        hypervisor.ApplyFirewall(GuestBaseFilter.Instance);
        return true;
    }

    /// <summary>
    /// Rewrites the guests' firewalls made before the base filter existed (they include libvirt's clean-traffic directly)
    /// to include <see cref="GuestBaseFilter"/> instead, rules unchanged; libvirt applies that to a running guest at once.
    /// Done when the agent joins, after <see cref="EnsureBase"/>. Returns how many were rewritten.
    /// </summary>
    public int IncludeBaseInOlderFirewalls()
    {
        if (!hypervisor.SupportsFirewalls)
            return 0;
        var rewritten = 0;
        foreach (var name in hypervisor.ListFirewalls().Where(IsGuestFirewall))
        {
            if (hypervisor.FirewallXml(name) is not { } xml)
                continue;
            var filter = XElement.Parse(xml);
            var cleanTraffic = filter.Elements("filterref").FirstOrDefault(r => (string?)r.Attribute("filter") == GuestBaseFilter.CleanTraffic);
            if (cleanTraffic is null)
                continue;
            cleanTraffic.SetAttributeValue("filter", GuestBaseFilter.FilterName);
            hypervisor.ApplyFirewall(new NetworkFilterXml(name, filter.ToString(SaveOptions.DisableFormatting)));
            rewritten++;
        }
        return rewritten;
    }

    /// <summary>A guest's firewall's name: nano-&lt;guest id&gt;.</summary>
    private static bool IsGuestFirewall(string name) => name.StartsWith("nano-", StringComparison.Ordinal) && Guid.TryParse(name["nano-".Length..], out _);

    /// <summary>A filter as libvirt gave it back, to be defined again.</summary>
    private sealed record NetworkFilterXml(string Name, string Xml) : INetworkFilter
    {
        public string ToXml() => Xml;
    }

    /// <summary>
    /// What tells clean-traffic the guest's own address: the address of its pool (the only source it may send from),
    /// else libvirt learns it from the DHCP lease the guest is given (until then it sends nothing but DHCP).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> OwnAddress(string address)
    {
        if (address.Length == 0)
            return [new("CTRL_IP_LEARNING", "dhcp")];
        return IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetwork && ip.ToString() == address
            ? [new("IP", address)]
            : throw new ArgumentException($"'{address}' is not an IPv4 address");
    }

    /// <summary>
    /// Removes guests' firewalls (nano-&lt;guest id&gt;) whose domain is gone from libvirt, whichever cell
    /// made them: a domain removed outside the agent leaves its filter behind. Returns how many went.
    /// </summary>
    public int Sweep()
    {
        if (!hypervisor.SupportsFirewalls)
            return 0;
        var removed = 0;
        foreach (var name in hypervisor.ListFirewalls().Where(IsGuestFirewall))
        {
            if (hypervisor.Find(Guid.Parse(name["nano-".Length..]).ToString()) is null && hypervisor.RemoveFirewall(name))
                removed++;
        }
        return removed;
    }
}
