using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;

namespace CellScale;

/// <summary>A host with no domains: enough for the agent to join, beat and report.</summary>
internal sealed class SimulatedHypervisor : IHypervisor
{
    public string Uri => "simulated:///";
    public string Type => "SIMULATED";
    public long Version => 1_000_000;
    public int Cores => 16;
    public bool Kvm => true;

    public string DomainType => "none";
    public void Define(Nano.Libvirt.DomainDefinition definition, bool autostart) => throw new NotSupportedException();
    public (DomainState State, int? ConsolePort)? Find(string guestId) => null;
    public void Start(string guestId) => throw new NotSupportedException();
    public HostCpus ProbeCpus(Action<string, string> refused) => HostCpus.None;
    public string CpuOf(string guestId) => "";
    public void UseCpu(string guestId, string definition) => throw new NotSupportedException();
    public Nano.Libvirt.DomainOwner? OwnerOf(string guestId) => null;

    public void MigrateLiveHere(string sourceUri, string sourceCell, Nano.Libvirt.DomainOwner owner, string address, Nano.Libvirt.MigrationStorage storage,
        string? folder, bool autostart, Action<int> progress, CancellationToken cancellationToken) => throw new NotSupportedException();
    public void StartFromMedia(string guestId, string isoPath) => throw new NotSupportedException();
    public bool SupportsFirewalls => false;
    public void ApplyFirewall(Nano.Libvirt.FirewallDefinition firewall) => throw new NotSupportedException();
    public string? FirewallXml(string name) => null;
    public bool RemoveFirewall(string name) => false;
    public IReadOnlyList<string> ListFirewalls() => [];
    public IReadOnlyList<string> ListOwnVolumeFiles(string cell) => [];
    public void ChangeMedia(string guestId, string? isoPath) => throw new NotSupportedException();
    public void SetConsolePassword(string guestId, string password) => throw new NotSupportedException();
    public string? InsertedMedia(string guestId) => throw new NotSupportedException();
    public void Stop(string guestId, bool reboot, bool force) => throw new NotSupportedException();
    public bool Undefine(string guestId) => false;
    public void SetUserPassword(string guestId, string user, string password) => throw new NotSupportedException();
    public void Snapshot(string guestId, SnapshotAction action, string name, string description = "") => throw new NotSupportedException();
    public IReadOnlyList<DomainReport> ListOwnDomains(string cell) => [];

    public IReadOnlyDictionary<string, DomainSample> SampleOwnDomains(string cell) => new Dictionary<string, DomainSample>();

    public IDisposable SubscribeOwnDomainEvents(string cell, Action<DomainEvent> handler) => new CancellationTokenSource();

    public void Dispose()
    {
    }
}
