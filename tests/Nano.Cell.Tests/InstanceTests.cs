using System.Diagnostics;
using System.Xml.Linq;
using Nano.Cell.Instances;
using Microsoft.Extensions.Logging.Abstractions;
using Nano.Cell.Hypervisor;
using Nano.Cell.Images;
using Nano.Images;
using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;
using DomainState = Nano.Contracts.Cell.V1.DomainState;

namespace Nano.Cell.Tests;

/// <summary>Guest volumes, seed ISO and domains against the test driver, with real qemu-img and genisoimage.</summary>
public sealed class InstanceTests : IDisposable
{
    private const long MiB = 1L << 20;
    private readonly string _root = Directory.CreateTempSubdirectory("nano-guests-").FullName;
    private readonly string _cell = $"cell-{Guid.NewGuid():N}";
    private readonly LibvirtHypervisor _hypervisor = new("test:///default");
    private readonly CellInstances _instances;
    private readonly CellStorageManager _storage;
    private readonly FileImageSource _source = new();
    private readonly ImageCache _cache;

    public InstanceTests()
    {
        _storage = new CellStorageManager(Path.Combine(_root, "images"), Path.Combine(_root, "mounts"), Path.Combine(_root, "cell.json"));
        _cache = new ImageCache(Path.Combine(_root, "cache"), _source, NullLogger.Instance);
        _instances = new CellInstances(new InstanceHost(_hypervisor, _storage, _cell, "127.0.0.1", _cache, _source));
    }

    [Fact]
    public async Task Create_MakesQcow2VolumesASeedAndADomain_DeleteRemovesThem()
    {
        var guest = Guid.NewGuid().ToString();
        var created = await _instances.Lifecycle.CreateAsync(Create(guest, withSeed: true), _ => { }, CancellationToken.None);

        Assert.Equal(DomainState.Stopped, created.State);
        Assert.Equal([Path.Combine(_storage.CurrentPath, $"{guest}_sys.qcow2"), Path.Combine(_storage.CurrentPath, $"{guest}_1.qcow2")], created.Volumes);
        Assert.Equal(64 * MiB, VirtualSize(created.Volumes[0]));
        Assert.Equal(32 * MiB, VirtualSize(created.Volumes[1]));
        Assert.True(File.Exists(Path.Combine(_storage.CurrentPath, $"{guest}_ci.iso")));
        var own = Assert.Single(_hypervisor.ListOwnDomains(_cell));
        Assert.Equal(guest, own.GuestId);

        Assert.Equal(DomainState.Running, (await _instances.Lifecycle.StartAsync(guest, null, 0, "", _ => { }, CancellationToken.None)).State);
        Assert.Throws<InvalidOperationException>(() => _instances.Lifecycle.Delete(guest));
        Assert.Equal(DomainState.Stopped, _instances.Lifecycle.Stop(guest, reboot: false, force: true).State);
        _instances.Lifecycle.Delete(guest);
        Assert.Empty(_hypervisor.ListOwnDomains(_cell));
        Assert.Empty(Directory.GetFiles(_storage.CurrentPath));
    }

    [Fact]
    public async Task AFailedCreate_LeavesNoVolumeAndNoDomain()
    {
        var guest = Guid.NewGuid().ToString();
        File.WriteAllText(Path.Combine(_storage.CurrentPath, $"{guest}_1.qcow2"), "in the way");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _instances.Lifecycle.CreateAsync(Create(guest, withSeed: false), _ => { }, CancellationToken.None));
        Assert.Contains("already exists", e.Message);
        Assert.Equal([$"{guest}_1.qcow2"], Directory.GetFiles(_storage.CurrentPath).Select(Path.GetFileName));
        Assert.Empty(_hypervisor.ListOwnDomains(_cell));

        File.Delete(Path.Combine(_storage.CurrentPath, $"{guest}_1.qcow2"));
        var badMac = Create(guest, withSeed: true);
        badMac.Mac = "not-a-mac";
        await Assert.ThrowsAsync<LibvirtException>(() => _instances.Lifecycle.CreateAsync(badMac, _ => { }, CancellationToken.None));
        Assert.Empty(Directory.GetFiles(_storage.CurrentPath));
        Assert.Empty(_hypervisor.ListOwnDomains(_cell));
    }

    [Fact]
    public async Task ASecondCreate_OfTheSameGuest_IsRefused()
    {
        var guest = Guid.NewGuid().ToString();
        await _instances.Lifecycle.CreateAsync(Create(guest, withSeed: false), _ => { }, CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _instances.Lifecycle.CreateAsync(Create(guest, withSeed: false), _ => { }, CancellationToken.None));
        _instances.Lifecycle.Delete(guest);
    }

    [Fact]
    public async Task Snapshots_OfAStoppedGuest_AreTakenRevertedAndDeleted()
    {
        var guest = Guid.NewGuid().ToString();
        await _instances.Lifecycle.CreateAsync(Create(guest, withSeed: false), _ => { }, CancellationToken.None);
        _instances.Snapshots.Snapshot(guest, SnapshotAction.Create, "first", "before the update");
        _instances.Snapshots.Snapshot(guest, SnapshotAction.Create, "second", "");
        _instances.Snapshots.Snapshot(guest, SnapshotAction.Revert, "first", "");
        _instances.Snapshots.Snapshot(guest, SnapshotAction.Delete, "second", "");
        Assert.Throws<LibvirtException>(() => _instances.Snapshots.Snapshot(guest, SnapshotAction.Revert, "second", ""));
        await _instances.Lifecycle.StartAsync(guest, null, 0, "", _ => { }, CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => _instances.Snapshots.Snapshot(guest, SnapshotAction.Create, "live", ""));
        _instances.Lifecycle.Stop(guest, reboot: false, force: true);
        _instances.Lifecycle.Delete(guest);
    }

    [Fact]
    public async Task CreateFromImage_BuildsOverlaysOverOneCachedCopy_RemovedWithTheLastOverlay()
    {
        var image = _source.Add(await MakeImageAsync("base.qcow2", 128 * MiB));
        var first = Guid.NewGuid().ToString();
        var second = Guid.NewGuid().ToString();
        var percents = new List<int>();
        var create = Create(first, withSeed: false);
        create.SystemImage = image;
        var created = await _instances.Lifecycle.CreateAsync(create, percents.Add, CancellationToken.None);
        create = Create(second, withSeed: false);
        create.SystemImage = image;
        await _instances.Lifecycle.CreateAsync(create, percents.Add, CancellationToken.None);

        var cached = _cache.PathOf(image, ".qcow2");
        Assert.Equal(cached, Qcow2Header.BackingFile(created.Volumes[0]));
        Assert.Equal(128 * MiB, VirtualSize(created.Volumes[0])); // the image is larger than the 64 MiB asked for
        Assert.Null(Qcow2Header.BackingFile(created.Volumes[1])); // data disks are blank
        Assert.Equal([0L], _source.FetchOffsets); // fetched once for both guests
        Assert.Equal(100, percents.Max());

        _instances.Lifecycle.Delete(first);
        Assert.True(File.Exists(cached));
        _instances.Lifecycle.Delete(second);
        Assert.False(File.Exists(cached));
    }

    [Fact]
    public async Task TheCache_KeepsAnImageWhileItIsUsed_OrAnyListedOverlayHasItAsBacking()
    {
        var image = _source.Add(await MakeImageAsync("kept.qcow2", 16 * MiB));
        var overlay = Path.Combine(Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName, "x.qcow2");
        var cached = await _cache.UseAsync(image, ".qcow2", _ => { }, async path =>
        {
            _cache.Sweep([]); // in use: kept although nothing has it as backing yet
            Assert.True(File.Exists(path));
            await VolumeTool.CreateOverlayAsync(overlay, path, 16 * MiB, CancellationToken.None);
            return path;
        }, CancellationToken.None);

        _cache.Sweep([overlay, Path.Combine(_root, "missing.qcow2")]);
        Assert.True(File.Exists(cached));
        _cache.Sweep([]);
        Assert.False(File.Exists(cached));

        // A media image stays while a CD-ROM drive holds it.
        var iso = Path.Combine(_root, "media.iso");
        await File.WriteAllBytesAsync(iso, new byte[64 * 1024]);
        var inDrive = await _cache.UseAsync(_source.Add(iso), ".iso", _ => { }, Task.FromResult, CancellationToken.None);
        _cache.Sweep([inDrive]);
        Assert.True(File.Exists(inDrive));
        _cache.Sweep([]);
        Assert.False(File.Exists(inDrive));
    }

    [Fact]
    public async Task ResetSystem_FromAnImage_ReplacesTheSystemVolumeWithAnOverlay()
    {
        var guest = Guid.NewGuid().ToString();
        var created = await _instances.Lifecycle.CreateAsync(Create(guest, withSeed: false), _ => { }, CancellationToken.None);
        Assert.Null(Qcow2Header.BackingFile(created.Volumes[0]));
        var image = _source.Add(await MakeImageAsync("reset.qcow2", 16 * MiB));

        await _instances.Disks.ResetSystemAsync(new ResetSystem { GuestId = guest, Size = 64 * MiB, Image = image }, _ => { }, CancellationToken.None);

        Assert.Equal(_cache.PathOf(image, ".qcow2"), Qcow2Header.BackingFile(created.Volumes[0]));
        Assert.Equal(64 * MiB, VirtualSize(created.Volumes[0]));
        await _instances.Disks.ResetSystemAsync(new ResetSystem { GuestId = guest, Size = 64 * MiB }, _ => { }, CancellationToken.None);
        Assert.Null(Qcow2Header.BackingFile(created.Volumes[0]));
        Assert.False(File.Exists(_cache.PathOf(image, ".qcow2"))); // its last overlay is gone
    }

    [Fact]
    public async Task TheCache_ResumesABrokenFetch_AndRefusesDamagedContent()
    {
        var image = _source.Add(await MakeImageAsync("resume.qcow2", 8 * MiB));
        _source.BreakAfter = 8192;
        var path = await _cache.UseAsync(image, ".qcow2", _ => { }, Task.FromResult, CancellationToken.None);
        Assert.Equal([0L, 8192L], _source.FetchOffsets);
        Assert.Equal(image.Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))));

        var damaged = _source.Add(await MakeImageAsync("damaged.qcow2", 8 * MiB));
        damaged.Sha256 = new string('0', 64);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _cache.UseAsync(damaged, ".qcow2", _ => { }, Task.FromResult, CancellationToken.None));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(_cache.Folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task ExportSystem_PushesTheFlattenedSystemVolume()
    {
        var image = _source.Add(await MakeImageAsync("export-base.qcow2", 32 * MiB));
        var guest = Guid.NewGuid().ToString();
        var create = Create(guest, withSeed: false);
        create.SystemImage = image;
        await _instances.Lifecycle.CreateAsync(create, _ => { }, CancellationToken.None);
        var percents = new List<int>();

        await _instances.Disks.ExportSystemAsync(new ExportSystem { GuestId = guest, Ticket = "t-1" }, percents.Add, CancellationToken.None);

        var pushed = Path.Combine(_root, "pushed.qcow2");
        await File.WriteAllBytesAsync(pushed, _source.Pushed["t-1"]);
        Assert.Null(Qcow2Header.BackingFile(pushed)); // standalone: the image's clusters are inside
        Assert.Equal(64 * MiB, VirtualSize(pushed));
        Assert.Equal(100, percents.Max());
        Assert.Empty(Directory.GetFiles(_storage.CurrentPath, ".*")); // the temporary copy is gone
    }

    [Fact]
    public async Task Failover_OnASharedFolder_FencesTheLostCellsCopy_AndStaleGenerationsDoNotStart()
    {
        var shared = Directory.CreateDirectory(Path.Combine(_root, "shared")).FullName;
        var attach = new AttachStorage { Pool = "ha", Type = "shared", Target = shared };
        Assert.Equal("", await _storage.AttachAsync(attach, CancellationToken.None));
        var otherCell = $"cell-{Guid.NewGuid():N}";
        var otherStorage = new CellStorageManager(Path.Combine(_root, "images-b"), Path.Combine(_root, "mounts-b"), Path.Combine(_root, "cell-b.json"));
        Assert.Equal("", await otherStorage.AttachAsync(attach, CancellationToken.None));
        var other = new CellInstances(new InstanceHost(_hypervisor, otherStorage, otherCell, "127.0.0.1", new ImageCache(Path.Combine(_root, "cache-b"), _source, NullLogger.Instance), _source));
        var guest = Guid.NewGuid().ToString();
        var create = Create(guest, withSeed: false);
        create.Generation = 1;
        var volumes = (await _instances.Lifecycle.CreateAsync(create, _ => { }, CancellationToken.None)).Volumes;
        Assert.All(volumes, v => Assert.StartsWith(shared, v));
        await _instances.Lifecycle.StartAsync(guest, null, 1, "", _ => { }, CancellationToken.None);

        // The lost cell's domain is in the same libvirtd: only a take-over from that cell may replace it.
        var next = create.Clone();
        next.Generation = 2;
        await Assert.ThrowsAsync<InvalidOperationException>(() => other.Arrivals.ImportAsync(new ImportInstance { Settings = next }, _ => { }, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => other.Arrivals.ImportAsync(new ImportInstance { Settings = next, TakeOverFrom = "someone-else" }, _ => { }, CancellationToken.None));
        var taken = await other.Arrivals.ImportAsync(new ImportInstance { Settings = next, TakeOverFrom = _cell }, _ => { }, CancellationToken.None);

        Assert.Equal(volumes, taken.Volumes); // the same files on the shared folder
        Assert.Equal(DomainState.Stopped, taken.State); // the old copy was powered off
        Assert.Empty(_hypervisor.ListOwnDomains(_cell));
        var report = Assert.Single(_hypervisor.ListOwnDomains(otherCell));
        Assert.Equal((guest, 2L), (report.GuestId, report.Generation));
        var stale = await Assert.ThrowsAsync<InvalidOperationException>(() => other.Lifecycle.StartAsync(guest, null, 3, "", _ => { }, CancellationToken.None));
        Assert.Contains("stale", stale.Message);
        Assert.Equal(DomainState.Running, (await other.Lifecycle.StartAsync(guest, null, 2, "", _ => { }, CancellationToken.None)).State);
        other.Lifecycle.Stop(guest, reboot: false, force: true);
        other.Lifecycle.Delete(guest);
        Assert.Empty(Directory.GetFiles(shared));
    }

    [Fact]
    public async Task AGuest_MovesToAnotherCell_ThroughExportReleaseAndImport()
    {
        var image = _source.Add(await MakeImageAsync("move-base.qcow2", 32 * MiB));
        var guest = Guid.NewGuid().ToString();
        var create = Create(guest, withSeed: true);
        create.SystemImage = image;
        await _instances.Lifecycle.CreateAsync(create, _ => { }, CancellationToken.None);
        var otherCell = $"cell-{Guid.NewGuid():N}";
        var otherStorage = new CellStorageManager(Path.Combine(_root, "images-b"), Path.Combine(_root, "mounts-b"), Path.Combine(_root, "cell-b.json"));
        var otherCache = new ImageCache(Path.Combine(_root, "cache-b"), _source, NullLogger.Instance);
        var other = new CellInstances(new InstanceHost(_hypervisor, otherStorage, otherCell, "127.0.0.1", otherCache, _source));

        var percents = new List<int>();
        var exported = await _instances.Departures.ExportVolumesAsync(new ExportVolumes { GuestId = guest, Tickets = { "t0", "t1", "t2", "t3" } }, percents.Add, CancellationToken.None);
        Assert.Equal(["t0", "t1", "t2"], _source.Pushed.Keys.Order()); // system, data volume, seed
        Assert.Equal(["sys.qcow2", "1.qcow2", "ci.iso"], exported.Exported); // the names the importing cell gets
        Assert.Equal(100, percents.Max());
        _instances.Departures.Release(new ReleaseInstance { GuestId = guest });
        var import = new ImportInstance { Settings = create };
        foreach (var (ticket, suffix) in new[] { "t0", "t1", "t2" }.Zip(exported.Exported))
        {
            var bytes = _source.Pushed[ticket];
            import.Files.Add(new StagedFile { Ticket = ticket, Suffix = suffix, Size = bytes.Length, Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)) });
        }
        var moved = await other.Arrivals.ImportAsync(import, _ => { }, CancellationToken.None);
        _instances.Departures.Release(new ReleaseInstance { GuestId = guest, DeleteFiles = true });

        Assert.Equal(guest, Assert.Single(_hypervisor.ListOwnDomains(otherCell)).GuestId);
        Assert.Empty(_hypervisor.ListOwnDomains(_cell));
        Assert.Equal(otherCache.PathOf(image, ".qcow2"), Qcow2Header.BackingFile(moved.Volumes[0])); // its own cached copy
        Assert.True(File.Exists(Path.Combine(otherStorage.CurrentPath, $"{guest}_ci.iso")));
        Assert.Empty(Directory.GetFiles(_storage.CurrentPath));
        Assert.False(File.Exists(_cache.PathOf(image, ".qcow2"))); // the source's cached copy went with its last overlay

        import.Files[1].Sha256 = new string('0', 64);
        other.Departures.Release(new ReleaseInstance { GuestId = guest, DeleteFiles = true });
        await Assert.ThrowsAsync<InvalidOperationException>(() => other.Arrivals.ImportAsync(import, _ => { }, CancellationToken.None));
        Assert.Empty(Directory.GetFiles(otherStorage.CurrentPath)); // a damaged copy is not kept
        Assert.Empty(_hypervisor.ListOwnDomains(otherCell));
    }

    [Fact]
    public async Task AnArrivingDataVolumeThatNamesAHostFile_IsRefused_AndNothingOfTheGuestStays()
    {
        var guest = Guid.NewGuid().ToString();
        var create = Create(guest, withSeed: false);
        await _instances.Lifecycle.CreateAsync(create, _ => { }, CancellationToken.None);
        var exported = await _instances.Departures.ExportVolumesAsync(new ExportVolumes { GuestId = guest, Tickets = { "h0", "h1", "h2" } }, _ => { }, CancellationToken.None);
        // The source cell (or whoever holds its credentials) sends a data volume whose header names a file of this host.
        var hostile = Path.Combine(_root, "hostile.qcow2");
        using (var tool = Process.Start(new ProcessStartInfo("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname", "-u", hostile, "1M"]))!)
            tool.WaitForExit();
        _source.Pushed["h1"] = await File.ReadAllBytesAsync(hostile);
        var otherStorage = new CellStorageManager(Path.Combine(_root, "images-h"), Path.Combine(_root, "mounts-h"), Path.Combine(_root, "cell-h.json"));
        var other = new CellInstances(new InstanceHost(_hypervisor, otherStorage, $"cell-{Guid.NewGuid():N}", "127.0.0.1", _cache, _source));
        _instances.Departures.Release(new ReleaseInstance { GuestId = guest });
        var import = new ImportInstance { Settings = create };
        foreach (var (ticket, suffix) in new[] { "h0", "h1" }.Zip(exported.Exported))
        {
            var bytes = _source.Pushed[ticket];
            import.Files.Add(new StagedFile { Ticket = ticket, Suffix = suffix, Size = bytes.Length, Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)) });
        }

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => other.Arrivals.ImportAsync(import, _ => { }, CancellationToken.None));

        Assert.Contains("backing file", refused.Message);
        Assert.Empty(Directory.GetFiles(otherStorage.CurrentPath));
        Assert.Null(_hypervisor.Find(guest));
        _instances.Departures.Release(new ReleaseInstance { GuestId = guest, DeleteFiles = true });
    }

    [Fact]
    public void TheDomainXml_MatchesTheGoldenFile()
    {
        using var kvm = new LibvirtHypervisor("test:///default", domainType: "kvm");
        var create = Create("6f9619ff-8b86-d011-b42d-00c04fc964ff", withSeed: true);
        create.Generation = 3;
        create.Qos = new QosLimits { CpuPriority = "medium", ReadSpeed = 1_048_576, WriteIops = 200, ReceiveSpeed = 2_097_152, SendSpeed = 1_048_576 };
        create.GuestAgent = true;
        // A host that starts host-passthrough and EPYC; the server names none, so the guest gets the host's best.
        var manager = new InstanceHost(kvm, _storage, "cell-golden", "192.0.2.10", _cache, _source, cpus: new HostCpus("0123456789abcdef", ["host-passthrough", "EPYC"]));
        string[] volumes = ["/var/lib/nano/images/6f9619ff-8b86-d011-b42d-00c04fc964ff_sys.qcow2", "/var/lib/nano/images/6f9619ff-8b86-d011-b42d-00c04fc964ff_1.qcow2"];
        const string seed = "/var/lib/nano/images/6f9619ff-8b86-d011-b42d-00c04fc964ff_ci.iso";
        var definition = InstanceDomains.Of(manager, create, volumes, seed);
        var golden = XElement.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "guest-kvm-sata-vnc.xml")));
        Assert.Equal(golden.ToString(), XElement.Parse(definition.ToXml()).ToString());

        // A named model the server asks for, in full: no fallback to another model.
        create.Cpu = "EPYC";
        var cpu = XElement.Parse(InstanceDomains.Of(manager, create, volumes, seed).ToXml()).Element("cpu")!;
        Assert.Equal("""<cpu mode="custom" match="exact"><model fallback="forbid">EPYC</model></cpu>""", cpu.ToString(SaveOptions.DisableFormatting));
        // One this host was not seen to start is refused, naming what it starts.
        create.Cpu = "Skylake-Server";
        var refused = Assert.Throws<InvalidOperationException>(() => InstanceDomains.Of(manager, create, volumes, seed));
        Assert.Equal("this host cannot start guests with CPU 'Skylake-Server' (it starts host-passthrough, EPYC)", refused.Message);
    }

    [Fact]
    public async Task Start_GivesTheStoppedDomainThePoolsCpu_AndReportsIt_ButRefusesOneTheHostCannotStart()
    {
        var cpus = new HostCpus("0123456789abcdef", ["host-passthrough", "qemu64"]);
        var instances = new CellInstances(new InstanceHost(_hypervisor, _storage, _cell, "127.0.0.1", _cache, _source, cpus: cpus));
        var guest = Guid.NewGuid().ToString();
        await instances.Lifecycle.CreateAsync(Create(guest, withSeed: false), _ => { }, CancellationToken.None);

        var started = await instances.Lifecycle.StartAsync(guest, null, 0, "qemu64", _ => { }, CancellationToken.None);
        Assert.Equal(DomainState.Running, started.State);
        Assert.Equal("qemu64", started.Cpu);
        Assert.Equal("qemu64", _hypervisor.CpuOf(guest));
        instances.Lifecycle.Stop(guest, reboot: false, force: true);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => instances.Lifecycle.StartAsync(guest, null, 0, "EPYC", _ => { }, CancellationToken.None));
        Assert.Contains("cannot start guests with CPU 'EPYC'", e.Message);
        Assert.Equal(DomainState.Stopped, _hypervisor.Find(guest)!.Value.State);
        Assert.Equal("qemu64", _hypervisor.CpuOf(guest));

        // Redefining (a change of cores, say) keeps the domain's CPU: it changes only when the guest starts.
        var changed = Create(guest, withSeed: false);
        changed.Cores = 2;
        changed.Cpu = "host-passthrough";
        instances.Lifecycle.Redefine(changed);
        Assert.Equal("qemu64", _hypervisor.CpuOf(guest));
        instances.Lifecycle.Delete(guest);
    }

    [Fact]
    public void TheSeed_WritesUserValuesAsQuotedStrings()
    {
        var folder = Path.Combine(_root, "seed");
        CloudInitSeedWriter.Write(folder, "g-1", new CloudInitSeed
        {
            AdminName = "admin", AdminSecret = "p4ss\"\nusers: [evil]", Hostname = "web-1", Address = "10.0.0.5/24", Gateway = "10.0.0.1", Dns = { "1.1.1.1" },
        });
        var userData = File.ReadAllText(Path.Combine(folder, "user-data"));
        Assert.StartsWith("#cloud-config\n", userData);
        Assert.Contains("plain_text_passwd: \"p4ss\\u0022\\nusers: [evil]\"", userData);
        Assert.Single(userData.Split('\n'), l => l.StartsWith("users:"));
        Assert.Contains("addresses: [\"10.0.0.5/24\"]", File.ReadAllText(Path.Combine(folder, "network-config")));
        Assert.Equal("instance-id: \"g-1\"\nlocal-hostname: \"web-1\"\n", File.ReadAllText(Path.Combine(folder, "meta-data")));
    }

    public void Dispose()
    {
        foreach (var domain in _hypervisor.ListOwnDomains(_cell))
        {
            if (domain.State == DomainState.Running)
                _hypervisor.Stop(domain.GuestId, reboot: false, force: true);
            _hypervisor.Undefine(domain.GuestId);
        }
        _hypervisor.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// Issue 14, item 4: the watchdog of a cell of a failover pool powers off its running guests once the server has been
    /// silent for longer than the acks allow, once per silence; a cell whose pool does not fail over never fences.
    /// </summary>
    [Fact]
    public async Task Fencing_PowersOffTheCellsRunningGuests_OnceTheServerWasSilentTooLong()
    {
        var guest = Guid.NewGuid().ToString();
        await _instances.Lifecycle.CreateAsync(Create(guest, withSeed: false), _ => { }, CancellationToken.None);
        await _instances.Lifecycle.StartAsync(guest, null, 0, "", _ => { }, CancellationToken.None);
        var fencing = new Fencing(_hypervisor, _cell, NullLogger.Instance);

        fencing.Heard(fenceAfterMs: 0);
        Assert.Equal(0, fencing.Check(DateTime.UtcNow.AddHours(1))); // not a failover pool
        fencing.Heard(fenceAfterMs: 5000);
        Assert.Equal(0, fencing.Check(DateTime.UtcNow.AddSeconds(4))); // not silent long enough
        Assert.Equal(DomainState.Running, _hypervisor.Find(guest)!.Value.State);
        Assert.Equal(1, fencing.Check(DateTime.UtcNow.AddSeconds(6)));
        Assert.Equal(DomainState.Stopped, _hypervisor.Find(guest)!.Value.State);

        await _instances.Lifecycle.StartAsync(guest, null, 0, "", _ => { }, CancellationToken.None);
        Assert.Equal(0, fencing.Check(DateTime.UtcNow.AddSeconds(7))); // once per silence
        fencing.Heard();
        Assert.Equal(1, fencing.Check(DateTime.UtcNow.AddSeconds(6))); // the limit the last ack gave holds
        _instances.Lifecycle.Delete(guest);
    }

    /// <summary>Issue 14, item 2: the zone the server named in its welcome is stamped on every domain the cell defines, and reported back.</summary>
    [Fact]
    public async Task ADefinedDomain_CarriesTheZoneOfTheWelcome_AndTheCellReportsIt()
    {
        var zone = Guid.NewGuid().ToString();
        _instances.Host.Zone = zone;
        var guest = Guid.NewGuid().ToString();
        await _instances.Lifecycle.CreateAsync(Create(guest, withSeed: false), _ => { }, CancellationToken.None);
        Assert.Equal(zone, _hypervisor.OwnerOf(guest)!.Zone);
        Assert.Equal(zone, _hypervisor.ListOwnDomains(_cell).Single(d => d.GuestId == guest).Zone);
        _instances.Lifecycle.Delete(guest);
    }

    private static CreateInstance Create(string guest, bool withSeed) => new()
    {
        GuestId = guest, Cores = 2, Memory = 256 * MiB, Disks = { 64 * MiB, 32 * MiB },
        Hardware = new Hardware { OperatingSystem = "linux", DiskBus = "sata", NicModel = "virtio", Display = "vga", Control = "vnc", Usb = "nec-xhci", Tablet = "usb" },
        Mac = "00:16:3e:12:34:56", MonitorSecret = "s3cretVN",
        CloudInit = withSeed ? new CloudInitSeed { AdminName = "root", AdminSecret = "pw", Hostname = "g", DataPath = "/opt/data" } : null,
    };

    private async Task<string> MakeImageAsync(string name, long size)
    {
        var path = Path.Combine(_root, name);
        await VolumeTool.CreateQcow2Async(path, size, CancellationToken.None);
        return path;
    }

    private static long VirtualSize(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("qemu-img", ["info", "-U", "--output=json", path]) { RedirectStandardOutput = true })!;
        var json = System.Text.Json.Nodes.JsonNode.Parse(process.StandardOutput.ReadToEnd())!;
        process.WaitForExit();
        Assert.Equal("qcow2", json["format"]!.GetValue<string>());
        return json["virtual-size"]!.GetValue<long>();
    }
}
