using System.Collections.Concurrent;
using System.Threading.Channels;
using System.Xml.Linq;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;

namespace Nano.Cell.Hypervisor;

/// <summary>The hypervisor through libvirt. Only domains whose Nano metadata names this cell are the agent's.</summary>
public sealed class LibvirtHypervisor : IHypervisor
{
    private readonly string _uri;
    private readonly Lock _reopening = new();
    private Connection _connection;
    private readonly NodeInfo _node;
    private readonly ConcurrentDictionary<string, string> _guestByUuid = new();

    private readonly string? _domainType;

    /// <param name="uri">The libvirt connection URI.</param>
    /// <param name="domainType">Tests only: the domain type to write instead of the host's ("kvm" on the test driver, for the XML a KVM host gets).</param>
    public LibvirtHypervisor(string uri, string? domainType = null)
    {
        _domainType = domainType;
        _uri = uri;
        _connection = Open(uri);
        _node = _connection.GetNodeInfo();
        Type = _connection.HypervisorType;
        Version = _connection.HypervisorVersion;
    }

    /// <summary>The connection itself, for tests on the test driver (whose state lives in the connection).</summary>
    internal Connection Connection => _connection;

    /// <summary>
    /// The libvirt connection, opened again when libvirtd went away (restarted, upgraded, killed): until it is back each
    /// call fails, and the agent's stream with it; the agent's next hello finds the new connection, and subscribes to
    /// its events again. Guests keep running meanwhile.
    /// </summary>
    private Connection Live
    {
        get
        {
            var connection = _connection;
            if (Type == "TEST" || connection.IsAlive)
                return connection;
            lock (_reopening)
            {
                if (!_connection.IsAlive)
                {
                    var fresh = Open(_uri);
                    var old = _connection;
                    _connection = fresh;
                    old.Dispose();
                }
                return _connection;
            }
        }
    }

    private static Connection Open(string uri)
    {
        var connection = Connection.Open(uri);
        if (!uri.StartsWith("test:", StringComparison.Ordinal))
            connection.SetKeepAlive(5, 3);
        return connection;
    }

    public string Uri => _uri;

    public string Type { get; }

    public long Version { get; }

    public int Cores => _node.Cpus;

    public bool Kvm => File.Exists("/dev/kvm");

    public string DomainType => _domainType ?? Type switch
    {
        "TEST" => "test",
        _ => Kvm ? "kvm" : "qemu",
    };

    public void Define(DomainDefinition definition, bool autostart)
    {
        using var domain = Live.DefineDomain(definition.ToXml());
        _guestByUuid[domain.Uuid] = definition.Owner.GuestId;
        if (Type != "TEST" && domain.Autostart != autostart)
            domain.Autostart = autostart;
    }

    public (Contracts.Cell.V1.DomainState State, int? ConsolePort)? Find(string guestId)
    {
        using var domain = Live.FindDomain(guestId);
        if (domain is null)
            return null;
        var state = Map(domain.GetState());
        return (state, state == Contracts.Cell.V1.DomainState.Running ? domain.GetConsolePort() : null);
    }

    public DomainOwner? OwnerOf(string guestId)
    {
        using var domain = Live.FindDomain(guestId);
        return domain is null ? null : DomainOwner.Of(domain);
    }

    public void MigrateLiveHere(string sourceUri, string sourceCell, DomainOwner owner, string address, MigrationStorage storage, string? folder,
        bool autostart, Action<int> progress, CancellationToken cancellationToken)
    {
        using var source = Connection.Open(sourceUri);
        using var domain = source.FindDomain(owner.GuestId) ?? throw new InvalidOperationException($"guest {owner.GuestId} has no domain at {sourceUri}");
        if (DomainOwner.Of(domain)?.Cell != sourceCell)
            throw new InvalidOperationException($"the domain of guest {owner.GuestId} at {sourceUri} is not cell {sourceCell}'s");
        if (domain.GetState() != Libvirt.DomainState.Running)
            throw new InvalidOperationException($"guest {owner.GuestId} is not running at {sourceUri}");
        string Here(bool persistent)
        {
            var xml = DomainConsole.ListenOn(owner.StampOnto(domain.GetMigratableXml(persistent)), address);
            return folder is null ? xml : DomainDisk.MoveFiles(xml, owner.GuestId, folder);
        }
        var (live, stored) = (Here(persistent: false), Here(persistent: true));
        using var done = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (await Task.Delay(500, done.Token).ContinueWith(t => !t.IsCanceled, TaskScheduler.Default))
            {
                if (domain.GetJobProgress() is { Total: > 0 } job)
                    progress((int)Math.Min(99, job.Processed * 100 / job.Total));
            }
        }, CancellationToken.None);
        using var abort = cancellationToken.Register(() =>
        {
            try
            {
                domain.AbortJob();
            }
            catch (LibvirtException)
            {
            }
        });
        try
        {
            using var moved = domain.MigrateLive(Live, live, stored, $"tcp://{address}", storage);
            _guestByUuid[moved.Uuid] = owner.GuestId;
            if (Type != "TEST" && moved.Autostart != autostart)
                moved.Autostart = autostart;
        }
        finally
        {
            done.Cancel();
            watcher.Wait(CancellationToken.None);
        }
        progress(100);
    }

    public void Start(string guestId)
    {
        using var domain = Require(guestId);
        domain.Start();
    }

    public HostCpus ProbeCpus(Action<string, string> refused) =>
        Type == "TEST" ? HostCpus.None
            : CpuProbe.Run(HostCpu.Signature(Live), HostCpu.UsableModels(Live, DomainType), FeaturesOf, StartsWith, refused);

    private IReadOnlyList<string> FeaturesOf(string model)
    {
        try
        {
            return HostCpu.RequiredFeatures(Live, model, DomainType);
        }
        catch (LibvirtException)
        {
            return [];
        }
    }

    /// <summary>Starts a small paused transient domain with the CPU definition and destroys it: null when it started, else why not.</summary>
    private string? StartsWith(string cpu)
    {
        var probe = new XElement("domain", new XAttribute("type", DomainType),
            new XElement("name", $"nano-cpu-probe-{Guid.NewGuid():N}"),
            new XElement("memory", new XAttribute("unit", "MiB"), 32),
            new XElement("vcpu", 1),
            new XElement("os", new XElement("type", "hvm")),
            DomainCpu.Element(cpu));
        try
        {
            using var domain = Live.StartTransientPaused(probe.ToString(SaveOptions.DisableFormatting));
            domain.Destroy();
            return null;
        }
        catch (LibvirtException e)
        {
            return e.Message;
        }
    }

    public string CpuOf(string guestId)
    {
        using var domain = Live.FindDomain(guestId);
        return domain is null ? "" : DomainCpu.Of(domain.GetPersistentXml());
    }

    public void UseCpu(string guestId, string definition)
    {
        using var domain = Require(guestId);
        var persistent = domain.GetPersistentXml();
        if (DomainCpu.Of(persistent) == definition)
            return;
        using (Live.DefineDomain(DomainCpu.Replace(persistent, definition)))
        {
        }
    }

    public bool SupportsFirewalls => Type != "TEST";

    public void ApplyFirewall(INetworkFilter firewall)
    {
        using (Live.DefineNetworkFilter(firewall.ToXml()))
        {
        }
    }

    public string? FirewallXml(string name)
    {
        using var filter = Live.FindNetworkFilter(name);
        return filter?.GetXml();
    }

    public IReadOnlyList<string> ListFirewalls()
    {
        var names = new List<string>();
        foreach (var filter in Live.ListNetworkFilters())
        {
            using (filter)
                names.Add(filter.Name);
        }
        return names;
    }

    public bool RemoveFirewall(string name)
    {
        using var filter = Live.FindNetworkFilter(name);
        filter?.Undefine();
        return filter is not null;
    }

    public void StartFromMedia(string guestId, string isoPath)
    {
        using var domain = Require(guestId);
        var persistent = domain.GetPersistentXml();
        using (Live.DefineDomain(DomainMedia.BootFromXml(persistent, isoPath)))
        {
        }
        try
        {
            domain.Start();
        }
        finally
        {
            // The running domain keeps the ISO and boot order it started with; the next start boots as before.
            using (Live.DefineDomain(persistent))
            {
            }
        }
    }

    public void ChangeMedia(string guestId, string? isoPath)
    {
        using var domain = Require(guestId);
        domain.UpdateLiveDevice(DomainMedia.DriveXml(domain.GetXml(), isoPath));
    }

    public void SetConsolePassword(string guestId, string password)
    {
        using var domain = Require(guestId);
        domain.SetConsolePassword(password);
    }

    public string? InsertedMedia(string guestId)
    {
        using var domain = Require(guestId);
        return DomainMedia.Inserted(domain.GetXml());
    }

    public void Stop(string guestId, bool reboot, bool force)
    {
        using var domain = Require(guestId);
        switch (reboot, force)
        {
            case (false, false): domain.Shutdown(); break;
            case (false, true): domain.Destroy(); break;
            case (true, false): domain.Reboot(); break;
            case (true, true): domain.Reset(); break;
        }
    }

    public void Snapshot(string guestId, SnapshotAction action, string name, string description = "")
    {
        using var domain = Require(guestId);
        switch (action)
        {
            case SnapshotAction.Create: domain.CreateSnapshot(name, description); break;
            case SnapshotAction.Revert: domain.RevertToSnapshot(name); break;
            case SnapshotAction.Delete: domain.DeleteSnapshot(name); break;
        }
    }

    public void SetUserPassword(string guestId, string user, string password)
    {
        using var domain = Require(guestId);
        domain.SetUserPassword(user, password);
    }

    public bool Undefine(string guestId)
    {
        using var domain = Live.FindDomain(guestId);
        if (domain is null)
            return false;
        domain.Undefine();
        return true;
    }

    private Domain Require(string guestId) =>
        Live.FindDomain(guestId) ?? throw new InvalidOperationException($"guest {guestId} has no domain on this cell");

    public IReadOnlyList<DomainReport> ListOwnDomains(string cell)
    {
        var reports = new List<DomainReport>();
        ForEachOwn(cell, (domain, owner) =>
        {
            _guestByUuid[domain.Uuid] = owner.GuestId;
            reports.Add(new DomainReport { GuestId = owner.GuestId, Uuid = domain.Uuid, Name = domain.Name, State = Map(domain.GetState()), Generation = owner.Generation, Zone = owner.Zone });
        });
        return reports;
    }

    public IReadOnlyList<string> ListOwnVolumeFiles(string cell)
    {
        var files = new List<string>();
        ForEachOwn(cell, (domain, _) => files.AddRange(XElement.Parse(domain.GetXml()).Element("devices")?.Elements("disk")
            .Select(d => (string?)d.Element("source")?.Attribute("file"))
            .OfType<string>() ?? []));
        return files;
    }

    public IReadOnlyDictionary<string, DomainSample> SampleOwnDomains(string cell)
    {
        var samples = new Dictionary<string, DomainSample>();
        ForEachOwn(cell, (domain, owner) =>
        {
            var info = domain.GetInfo();
            if (info.State != Libvirt.DomainState.Running)
                return;
            var (disks, interfaces) = domain.GetDeviceNames();
            long read = 0, written = 0, received = 0, sent = 0;
            foreach (var disk in disks)
            {
                var (r, w) = Tolerant(() => domain.GetBlockStats(disk));
                (read, written) = (read + r, written + w);
            }
            foreach (var nic in interfaces)
            {
                var (rx, tx) = Tolerant(() => domain.GetInterfaceStats(nic));
                (received, sent) = (received + rx, sent + tx);
            }
            samples[owner.GuestId] = new DomainSample(info.CpuTimeNanoseconds, info.VirtualCpus, info.MemoryBytes, read, written, received, sent);
        });
        return samples;
    }

    /// <summary>
    /// Runs <paramref name="visit"/> for each domain whose metadata names <paramref name="cell"/>. A domain
    /// undefined while the scan runs (a parallel delete) is skipped; any other failure is not.
    /// </summary>
    private void ForEachOwn(string cell, Action<Domain, DomainOwner> visit)
    {
        foreach (var domain in Live.ListDomains())
        {
            using (domain)
            {
                try
                {
                    if (DomainOwner.Of(domain) is { } owner && owner.Cell == cell)
                        visit(domain, owner);
                }
                catch (LibvirtException) when (Gone(domain.Uuid))
                {
                }
            }
        }
    }

    private bool Gone(string uuid)
    {
        using var found = Live.FindDomain(uuid);
        return found is null;
    }

    /// <summary>
    /// libvirt calls back on its event thread, where calling into the driver again can deadlock: events
    /// are queued there and handled in order on a task of their own.
    /// </summary>
    public IDisposable SubscribeOwnDomainEvents(string cell, Action<DomainEvent> handler)
    {
        ListOwnDomains(cell);
        var queue = Channel.CreateUnbounded<DomainLifecycleEvent>(new UnboundedChannelOptions { SingleReader = true });
        var subscription = Live.SubscribeLifecycle(e => queue.Writer.TryWrite(e));
        var consumer = Task.Run(async () =>
        {
            await foreach (var e in queue.Reader.ReadAllAsync())
            {
                var guest = GuestOf(e.Uuid, cell);
                if (e.Lifecycle == DomainLifecycle.Undefined)
                    _guestByUuid.TryRemove(e.Uuid, out _);
                if (guest is not null && Map(e.Lifecycle) is { } kind)
                    handler(new DomainEvent { GuestId = guest, Kind = kind, Detail = $"{e.Lifecycle}/{e.Detail}" });
            }
        });
        return new EventSubscription(subscription, queue.Writer, consumer);
    }

    public void Dispose() => _connection.Dispose();

    /// <summary>A device can vanish between listing and reading (hot-unplug, shutdown): it then counts 0.</summary>
    private static (long, long) Tolerant(Func<(long, long)> read)
    {
        try
        {
            return read();
        }
        catch (LibvirtException)
        {
            return (0, 0);
        }
    }

    /// <summary>The guest id of an own domain; undefined domains are remembered from earlier lookups.</summary>
    private string? GuestOf(string uuid, string cell)
    {
        if (_guestByUuid.TryGetValue(uuid, out var known))
            return known;
        using var domain = Live.FindDomain(uuid);
        if (domain is null || DomainOwner.Of(domain) is not { } owner || owner.Cell != cell)
            return null;
        _guestByUuid[uuid] = owner.GuestId;
        return owner.GuestId;
    }

    private static Contracts.Cell.V1.DomainState Map(Libvirt.DomainState state) => state switch
    {
        Libvirt.DomainState.Running or Libvirt.DomainState.Blocked or Libvirt.DomainState.ShuttingDown => Contracts.Cell.V1.DomainState.Running,
        Libvirt.DomainState.Paused or Libvirt.DomainState.Suspended => Contracts.Cell.V1.DomainState.Paused,
        Libvirt.DomainState.Crashed => Contracts.Cell.V1.DomainState.Crashed,
        Libvirt.DomainState.ShutOff => Contracts.Cell.V1.DomainState.Stopped,
        _ => Contracts.Cell.V1.DomainState.Unspecified,
    };

    private static DomainEventKind? Map(DomainLifecycle lifecycle) => lifecycle switch
    {
        DomainLifecycle.Started => DomainEventKind.Started,
        DomainLifecycle.Stopped => DomainEventKind.Stopped,
        DomainLifecycle.Crashed => DomainEventKind.Crashed,
        DomainLifecycle.Undefined => DomainEventKind.Deleted,
        DomainLifecycle.Suspended or DomainLifecycle.PMSuspended => DomainEventKind.Paused,
        DomainLifecycle.Resumed => DomainEventKind.Resumed,
        _ => null,
    };

    private sealed class EventSubscription(IDisposable subscription, ChannelWriter<DomainLifecycleEvent> queue, Task consumer) : IDisposable
    {
        public void Dispose()
        {
            subscription.Dispose();
            queue.TryComplete();
            consumer.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
