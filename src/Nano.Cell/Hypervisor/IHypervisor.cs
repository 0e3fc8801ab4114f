using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Hypervisor;

/// <summary>What the agent needs of the hypervisor: the host, its own domains, their figures and events.</summary>
public interface IHypervisor : IDisposable
{
    string Uri { get; }

    /// <summary>Driver name, e.g. "QEMU".</summary>
    string Type { get; }

    long Version { get; }

    int Cores { get; }

    /// <summary>Guests run with /dev/kvm (false: QEMU's emulator).</summary>
    bool Kvm { get; }

    /// <summary>The domains whose metadata names <paramref name="cell"/>.</summary>
    IReadOnlyList<DomainReport> ListOwnDomains(string cell);

    /// <summary>Counters of each running own domain, by guest id.</summary>
    IReadOnlyDictionary<string, DomainSample> SampleOwnDomains(string cell);

    /// <summary>Lifecycle events of own domains until disposed.</summary>
    IDisposable SubscribeOwnDomainEvents(string cell, Action<DomainEvent> handler);
}
