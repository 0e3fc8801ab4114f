using Nano.Libvirt;

namespace Nano.EndToEnd.Tests;

/// <summary>Domains a test's cells may leave in libvirtd when the test fails half-way.</summary>
public static class LeftoverDomains
{
    /// <summary>Powers off and undefines every domain whose owning cell's name starts with <paramref name="cellPrefix"/>.</summary>
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
                domain.Undefine();
            }
        }
    }
}
