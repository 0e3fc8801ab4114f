using System.Diagnostics;
using System.Xml.Linq;
using Nano.Cell.Guests;
using Nano.Cell.Hypervisor;
using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;
using DomainState = Nano.Contracts.Cell.V1.DomainState;

namespace Nano.Cell.Tests;

/// <summary>Guest volumes, seed ISO and domains against the test driver, with real qemu-img and genisoimage.</summary>
public sealed class InstanceManagerTests : IDisposable
{
    private const long MiB = 1L << 20;
    private readonly string _root = Directory.CreateTempSubdirectory("nano-guests-").FullName;
    private readonly string _cell = $"cell-{Guid.NewGuid():N}";
    private readonly LibvirtHypervisor _hypervisor = new("test:///default");
    private readonly InstanceManager _instances;
    private readonly CellStorageManager _storage;

    public InstanceManagerTests()
    {
        _storage = new CellStorageManager(Path.Combine(_root, "images"), Path.Combine(_root, "mounts"), Path.Combine(_root, "cell.json"));
        _instances = new InstanceManager(_hypervisor, _storage, _cell, "127.0.0.1");
    }

    [Fact]
    public async Task Create_MakesQcow2VolumesASeedAndADomain_DeleteRemovesThem()
    {
        var guest = Guid.NewGuid().ToString();
        var created = await _instances.CreateAsync(Create(guest, withSeed: true), CancellationToken.None);

        Assert.Equal(DomainState.Stopped, created.State);
        Assert.Equal([Path.Combine(_storage.CurrentPath, $"{guest}_sys.qcow2"), Path.Combine(_storage.CurrentPath, $"{guest}_1.qcow2")], created.Volumes);
        Assert.Equal(64 * MiB, VirtualSize(created.Volumes[0]));
        Assert.Equal(32 * MiB, VirtualSize(created.Volumes[1]));
        Assert.True(File.Exists(Path.Combine(_storage.CurrentPath, $"{guest}_ci.iso")));
        var own = Assert.Single(_hypervisor.ListOwnDomains(_cell));
        Assert.Equal(guest, own.GuestId);

        Assert.Equal(DomainState.Running, _instances.Start(guest).State);
        Assert.Throws<InvalidOperationException>(() => _instances.Delete(guest));
        Assert.Equal(DomainState.Stopped, _instances.Stop(guest, reboot: false, force: true).State);
        _instances.Delete(guest);
        Assert.Empty(_hypervisor.ListOwnDomains(_cell));
        Assert.Empty(Directory.GetFiles(_storage.CurrentPath));
    }

    [Fact]
    public async Task AFailedCreate_LeavesNoVolumeAndNoDomain()
    {
        var guest = Guid.NewGuid().ToString();
        File.WriteAllText(Path.Combine(_storage.CurrentPath, $"{guest}_1.qcow2"), "in the way");
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _instances.CreateAsync(Create(guest, withSeed: false), CancellationToken.None));
        Assert.Contains("already exists", e.Message);
        Assert.Equal([$"{guest}_1.qcow2"], Directory.GetFiles(_storage.CurrentPath).Select(Path.GetFileName));
        Assert.Empty(_hypervisor.ListOwnDomains(_cell));

        File.Delete(Path.Combine(_storage.CurrentPath, $"{guest}_1.qcow2"));
        var badMac = Create(guest, withSeed: true);
        badMac.Mac = "not-a-mac";
        await Assert.ThrowsAsync<LibvirtException>(() => _instances.CreateAsync(badMac, CancellationToken.None));
        Assert.Empty(Directory.GetFiles(_storage.CurrentPath));
        Assert.Empty(_hypervisor.ListOwnDomains(_cell));
    }

    [Fact]
    public async Task ASecondCreate_OfTheSameGuest_IsRefused()
    {
        var guest = Guid.NewGuid().ToString();
        await _instances.CreateAsync(Create(guest, withSeed: false), CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _instances.CreateAsync(Create(guest, withSeed: false), CancellationToken.None));
        _instances.Delete(guest);
    }

    [Fact]
    public async Task Snapshots_OfAStoppedGuest_AreTakenRevertedAndDeleted()
    {
        var guest = Guid.NewGuid().ToString();
        await _instances.CreateAsync(Create(guest, withSeed: false), CancellationToken.None);
        _instances.Snapshot(guest, SnapshotAction.Create, "first", "before the update");
        _instances.Snapshot(guest, SnapshotAction.Create, "second", "");
        _instances.Snapshot(guest, SnapshotAction.Revert, "first", "");
        _instances.Snapshot(guest, SnapshotAction.Delete, "second", "");
        Assert.Throws<LibvirtException>(() => _instances.Snapshot(guest, SnapshotAction.Revert, "second", ""));
        _instances.Start(guest);
        Assert.Throws<InvalidOperationException>(() => _instances.Snapshot(guest, SnapshotAction.Create, "live", ""));
        _instances.Stop(guest, reboot: false, force: true);
        _instances.Delete(guest);
    }

    [Fact]
    public void TheDomainXml_MatchesTheGoldenFile()
    {
        var kvm = new FixedType("kvm", _hypervisor);
        var create = Create("6f9619ff-8b86-d011-b42d-00c04fc964ff", withSeed: true);
        create.Qos = new QosLimits { CpuPriority = "medium", ReadSpeed = 1_048_576, WriteIops = 200, ReceiveSpeed = 2_097_152, SendSpeed = 1_048_576 };
        create.GuestAgent = true;
        var definition = new InstanceManager(kvm, _storage, "cell-golden", "192.0.2.10").Definition(create,
            ["/var/lib/nano/images/6f9619ff-8b86-d011-b42d-00c04fc964ff_sys.qcow2", "/var/lib/nano/images/6f9619ff-8b86-d011-b42d-00c04fc964ff_1.qcow2"],
            "/var/lib/nano/images/6f9619ff-8b86-d011-b42d-00c04fc964ff_ci.iso");
        var golden = XElement.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "guest-kvm-sata-vnc.xml")));
        Assert.Equal(golden.ToString(), XElement.Parse(definition.ToXml()).ToString());
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

    private static CreateInstance Create(string guest, bool withSeed) => new()
    {
        GuestId = guest, Cores = 2, Memory = 256 * MiB, Disks = { 64 * MiB, 32 * MiB },
        Hardware = new Hardware { OperatingSystem = "linux", DiskBus = "sata", NicModel = "virtio", Display = "vga", Control = "vnc", Usb = "nec-xhci", Tablet = "usb" },
        Mac = "00:16:3e:12:34:56", MonitorSecret = "s3cretVN",
        CloudInit = withSeed ? new CloudInitSeed { AdminName = "root", AdminSecret = "pw", Hostname = "g", DataPath = "/opt/data" } : null,
    };

    private static long VirtualSize(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("qemu-img", ["info", "--output=json", path]) { RedirectStandardOutput = true })!;
        var json = System.Text.Json.Nodes.JsonNode.Parse(process.StandardOutput.ReadToEnd())!;
        process.WaitForExit();
        Assert.Equal("qcow2", json["format"]!.GetValue<string>());
        return json["virtual-size"]!.GetValue<long>();
    }

    /// <summary>The real hypervisor with another domain type, to build the XML a KVM host gets.</summary>
    private sealed class FixedType(string type, IHypervisor inner) : IHypervisor
    {
        public string DomainType => type;
        public string Uri => inner.Uri;
        public string Type => inner.Type;
        public long Version => inner.Version;
        public int Cores => inner.Cores;
        public bool Kvm => true;
        public void Define(DomainDefinition definition, bool autostart) => inner.Define(definition, autostart);
        public (DomainState State, int? ConsolePort)? Find(string guestId) => inner.Find(guestId);
        public void Start(string guestId) => inner.Start(guestId);
        public void Stop(string guestId, bool reboot, bool force) => inner.Stop(guestId, reboot, force);
        public bool Undefine(string guestId) => inner.Undefine(guestId);
        public void SetUserPassword(string guestId, string user, string password) => inner.SetUserPassword(guestId, user, password);
        public void Snapshot(string guestId, SnapshotAction action, string name, string description = "") => inner.Snapshot(guestId, action, name, description);
        public IReadOnlyList<DomainReport> ListOwnDomains(string cell) => inner.ListOwnDomains(cell);
        public IReadOnlyDictionary<string, DomainSample> SampleOwnDomains(string cell) => inner.SampleOwnDomains(cell);
        public IDisposable SubscribeOwnDomainEvents(string cell, Action<DomainEvent> handler) => inner.SubscribeOwnDomainEvents(cell, handler);
        public void Dispose()
        {
        }
    }
}
