using Nano.Libvirt;

namespace Nano.EndToEnd.Tests;

/// <summary>Domains a test's cells may leave in libvirtd when the test fails half-way.</summary>
public static class LeftoverDomains
{
    /// <summary>
/// Powers off and undefines every domain whose owning cell's name starts with <paramref name="cellPrefix"/>, and
/// removes its firewall.
/// </summary>
    public static void Remove(string cellPrefix)
    {
        using var libvirt = Connection.Open("qemu:///system");
        foreach (var domain in libvirt.ListDomains())
        {
            using (domain)
            {
                if (DomainOwner.Of(domain)?.Cell is not { } cell || !cell.StartsWith(cellPrefix, StringComparison.Ordinal))
                    continue;
                if (domain.GetState() == DomainState.Running)
                    domain.Destroy();
                var owner = DomainOwner.Of(domain)!;
                domain.Undefine();
                // Its firewall, which the cell would have removed with it (it is named after the guest).
                using var filter = libvirt.FindNetworkFilter($"nano-{owner.GuestId}");
                filter?.Undefine();
            }
        }
    }
}
