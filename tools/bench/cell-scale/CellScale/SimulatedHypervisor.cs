using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;

namespace CellScale;

/// <summary>
/// A host whose domains are running guests that do nothing but count (their ids given, defined for <paramref name="zone"/>):
/// enough for the agent to join, report its domains, beat and report its own and its guests' figures.
/// </summary>
internal sealed class SimulatedHypervisor(IReadOnlyList<Guid> guests, string zone) : IHypervisor
{
    private long _ticks;

    public string Uri => "simulated:///";
    public string Type => "SIMULATED";
    public long Version => 1_000_000;
    public int Cores => 16;
    public bool Kvm => true;

    public string DomainType => "none";
    public void Define(Nano.Libvirt.DomainDefinition definition, bool autostart) => throw new NotSupportedException();
    public (DomainState State, int? ConsolePort)? Find(string guestId) =>
        guests.Contains(Guid.TryParse(guestId, out var id) ? id : Guid.Empty) ? (DomainState.Running, null) : null;
    public void Start(string guestId) => throw new NotSupportedException();
    public HostCpus ProbeCpus(Action<string, string> refused) => HostCpus.None;
    public string CpuOf(string guestId) => "";
    public void UseCpu(string guestId, string definition) => throw new NotSupportedException();
    public Nano.Libvirt.DomainOwner? OwnerOf(string guestId) => null;

    public void MigrateLiveHere(string sourceUri, string sourceCell, Nano.Libvirt.DomainOwner owner, string address, Nano.Libvirt.MigrationStorage storage,
        string? folder, bool autostart, Action<int> progress, CancellationToken cancellationToken) => throw new NotSupportedException();
    public void StartFromMedia(string guestId, string isoPath) => throw new NotSupportedException();
    public bool SupportsFirewalls => false;
    public void ApplyFirewall(Nano.Libvirt.INetworkFilter firewall) => throw new NotSupportedException();
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
    public IReadOnlyList<DomainReport> ListOwnDomains(string cell) =>
        [.. guests.Select(g => new DomainReport { GuestId = g.ToString(), Uuid = g.ToString(), Name = g.ToString(), State = DomainState.Running, Generation = 1, Zone = zone })];

    /// <summary>Each guest a little busier and its counters further on at every sample.</summary>
    public IReadOnlyDictionary<string, DomainSample> SampleOwnDomains(string cell)
    {
        var ticks = Interlocked.Increment(ref _ticks);
        return guests.ToDictionary(g => g.ToString(),
            g => new DomainSample((ulong)ticks * 400_000_000, 1, 512L << 20, ticks << 20, ticks << 19, ticks << 18, ticks << 17));
    }

    public IDisposable SubscribeOwnDomainEvents(string cell, Action<DomainEvent> handler) => new CancellationTokenSource();

    public void Dispose()
    {
    }
}
