using System.Net;
using System.Net.Sockets;
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
        foreach (var name in hypervisor.ListFirewalls())
        {
            if (name.StartsWith("nano-", StringComparison.Ordinal) && Guid.TryParse(name["nano-".Length..], out var guest) &&
                hypervisor.Find(guest.ToString()) is null && hypervisor.RemoveFirewall(name))
                removed++;
        }
        return removed;
    }
}
