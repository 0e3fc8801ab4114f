using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Hypervisor;

/// <summary>The figures of a cell's running guests, what the metrics sampler needs of the hypervisor.</summary>
public interface IGuestFigures
{
    /// <summary>Counters of each running own domain, by guest id.</summary>
    IReadOnlyDictionary<string, DomainSample> SampleOwnDomains(string cell);
}

/// <summary>What the agent needs of the hypervisor: the host, its own domains, their figures and events.</summary>
public interface IHypervisor : IGuestFigures, IDisposable
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

    /// <summary>The files in the disk and CD-ROM drives of the domains whose metadata names <paramref name="cell"/> (live ones while running).</summary>
    IReadOnlyList<string> ListOwnVolumeFiles(string cell);

    /// <summary>The libvirt domain type guests get here: "kvm", "qemu" (emulated) or "test".</summary>
    string DomainType { get; }

    /// <summary>Defines a guest's domain (its UUID is the guest id).</summary>
    void Define(Nano.Libvirt.DomainDefinition definition, bool autostart);

    /// <summary>The guest's domain state and console port, or null when it has no domain here.</summary>
    (DomainState State, int? ConsolePort)? Find(string guestId);

    void Start(string guestId);

    /// <summary>
    /// Which CPU definitions this host can really start, best first: host-passthrough, host-model, then the named 64-bit models
    /// libvirt calls usable, most features first, each kept only if a small paused domain with it starts.
    /// </summary>
    HostCpus ProbeCpus(Action<string, string> refused);

    /// <summary>The CPU definition of the guest's stored domain ("" for none).</summary>
    string CpuOf(string guestId);

    /// <summary>Gives the guest's stored (stopped) domain this CPU definition, from its next start on.</summary>
    void UseCpu(string guestId, string definition);

    /// <summary>The guest's domain metadata (owning cell, generation), or null when it has no Nano domain here.</summary>
    Nano.Libvirt.DomainOwner? OwnerOf(string guestId);

    /// <summary>
    /// Moves the guest's running domain, owned by <paramref name="sourceCell"/>, from the libvirtd at <paramref name="sourceUri"/>
    /// to this one, live: here it belongs to <paramref name="owner"/> and its console listens on <paramref name="address"/>,
    /// which also receives the migration data. With <paramref name="folder"/>, the guest's files are in that folder here
    /// (local storage, <see cref="Nano.Libvirt.MigrationStorage.CopiedOverSameBases"/>); otherwise where they were.
    /// Reports percents; cancelling aborts the migration, leaving the guest running at its source.
    /// </summary>
    void MigrateLiveHere(string sourceUri, string sourceCell, Nano.Libvirt.DomainOwner owner, string address, Nano.Libvirt.MigrationStorage storage,
        string? folder, bool autostart, Action<int> progress, CancellationToken cancellationToken);

    /// <summary>Starts the guest booting <paramref name="isoPath"/> from its media drive; its persistent definition stays as it was.</summary>
    void StartFromMedia(string guestId, string isoPath);

    /// <summary>Puts <paramref name="isoPath"/> into the running guest's media drive, or empties it (null).</summary>
    void ChangeMedia(string guestId, string? isoPath);

    /// <summary>Gives the running guest's console a new password at once (its definition gets it with a redefinition).</summary>
    void SetConsolePassword(string guestId, string password);

    /// <summary>The ISO in the running guest's media drive, or null.</summary>
    string? InsertedMedia(string guestId);

    /// <summary>ACPI shutdown; <paramref name="force"/>: power off; <paramref name="reboot"/>: reboot (with force: reset).</summary>
    void Stop(string guestId, bool reboot, bool force);

    /// <summary>Snapshots of a guest's domain: create, revert to, delete (by name).</summary>
    void Snapshot(string guestId, SnapshotAction action, string name, string description = "");

    /// <summary>Sets an account's password inside the running guest (QEMU guest agent).</summary>
    void SetUserPassword(string guestId, string user, string password);

    /// <summary>Whether this hypervisor has network filters (libvirt's test driver has none).</summary>
    bool SupportsFirewalls { get; }

    /// <summary>Defines or replaces a network filter (interfaces using it follow at once).</summary>
    void ApplyFirewall(Nano.Libvirt.INetworkFilter firewall);

    /// <summary>The XML of a network filter, or null when there is none.</summary>
    string? FirewallXml(string name);

    /// <summary>The names of all network filters.</summary>
    IReadOnlyList<string> ListFirewalls();

    /// <summary>Removes a network filter; false when there was none.</summary>
    bool RemoveFirewall(string name);

    /// <summary>Removes the guest's domain definition; false when there was none.</summary>
    bool Undefine(string guestId);

    /// <summary>Lifecycle events of own domains until disposed.</summary>
    IDisposable SubscribeOwnDomainEvents(string cell, Action<DomainEvent> handler);
}
