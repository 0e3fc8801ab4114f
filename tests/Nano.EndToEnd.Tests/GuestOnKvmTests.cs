using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Nano.Libvirt;
using Nano.Testing;

namespace Nano.EndToEnd.Tests;

/// <summary>A guest through the whole stack: REST, server, nano-cell, libvirtd, qemu/KVM.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestOnKvmTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "e2e-guest-token";
    private const long MiB = 1L << 20;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _work = Directory.CreateTempSubdirectory("nano-e2e-guest-").FullName;
    private readonly string _cell = $"kvm-{Guid.NewGuid():N}"[..16];
    private readonly string _bridge = $"nb{Guid.NewGuid():N}"[..10]; // guests' NICs join it, so their firewalls bind
    private InitializedServer _zone = null!;
    private AgentProcess _agent = null!;

    private RestClient Rest => _zone.Rest;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists("/var/run/libvirt/libvirt-sock"), "libvirtd is not running: run the suite through ./tools/test, which starts it");
        _zone = new AgentZone(Token);
        await _zone.InitializeAsync();
        Run("ip", "link", "add", _bridge, "type", "bridge");
        Run("ip", "link", "set", _bridge, "up");
        _agent = StartAgent();
        try
        {
            await WaitForAsync(async () => (await Rest.GetAsync("/api/v1/compute_pool_cells/", _zone.AdminSession)).Data!.AsArray().Any(c => c!["name"]!.GetValue<string>() == _cell));
            var added = await Rest.PostAsync($"/api/v1/compute_pool_cells/default/{_cell}", null, _zone.AdminSession);
            Assert.True(added.ErrorCode == 0, added.Text);
            await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", _zone.AdminSession)).Data!["available_memory"]!.GetValue<long>() > 0);
        }
        catch
        {
            await DisposeAsync(); // xunit does not dispose a test whose set-up failed: no agent, bridge or folder may stay behind
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        await _agent.DisposeAsync();
        await _zone.DisposeAsync();
        // A test that failed half-way may leave its cell's domains behind: they go with the test's folder.
        LeftoverDomains.Remove(_cell);
        Run("ip", "link", "del", _bridge);
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task AGuest_IsCreatedStartedShownStoppedAndDeleted_OnRealKvm()
    {
        _agent.Freeze(); // holds the cell's answer for a moment, so the creation's progress can be watched mid-way
        var created = await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "e2e", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB },
            modules = new[] { "cloud-init" }, cloud_init = new { admin_secret = "S3cret-pass" },
        }, _zone.AdminSession);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();

        // Its creation is an operation: watch it over gRPC until it ends, seeing its progress on the way.
        var operationId = (await Rest.GetAsync($"/api/v1/operations/?target={id}", _zone.AdminSession)).Data![0]!["id"]!.GetValue<string>();
        var operations = new Nano.Contracts.V1.OperationService.OperationServiceClient(_zone.Server.Channel);
        using (var watch = operations.WatchOperation(new Nano.Contracts.V1.WatchOperationRequest { Id = operationId },
            TestServer.Call(_zone.AdminSession)))
        {
            var seen = new List<Nano.Contracts.V1.Operation>();
            while (await watch.ResponseStream.MoveNext(CancellationToken.None))
            {
                seen.Add(watch.ResponseStream.Current.Data);
                if (seen[^1].Percent == 20)
                    _agent.Thaw();
            }
            Assert.Contains(seen, o => o is { State: "running", Percent: 20, Stage: "creating volumes and domain" });
            Assert.Equal("succeeded", seen[^1].State);
            Assert.Equal(100, seen[^1].Percent);
            Assert.True(seen.Count >= 2, string.Join(", ", seen.Select(o => $"{o.State}/{o.Percent}")));
        }
        Assert.True((await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["created"]!.GetValue<bool>());

        var volume = Path.Combine(_work, "images", $"{id}_sys.qcow2");
        Assert.Equal(1024 * MiB, QemuImgVirtualSize(volume));
        Assert.True(File.Exists(Path.Combine(_work, "images", $"{id}_ci.iso")));
        // The guest's files (its disks, its seed with the administrator's password) are readable by their owner only.
        foreach (var file in Directory.GetFiles(Path.Combine(_work, "images"), $"{id}_*"))
            Assert.True((File.GetUnixFileMode(file) & (UnixFileMode)Convert.ToInt32("077", 8)) == 0, $"{file} is {File.GetUnixFileMode(file)}");
        using var libvirt = Connection.Open("qemu:///system");
        using (var domain = libvirt.FindDomain(id))
        {
            Assert.NotNull(domain);
            // A new guest is generation 1, stamped with the zone's identity.
            Assert.Equal(new DomainOwner(id, _cell, 1, await ZoneIdAsync()), DomainOwner.Of(domain!));
            Assert.Equal(DomainState.ShutOff, domain!.GetState());
        }

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
        {
            Assert.Equal(DomainState.Running, domain.GetState());
            // Its bridged NIC is bound to its firewall (accept-all here), which includes the base filter: clean-traffic,
            // and no DHCP answers from the guest (libvirt instantiates those rules once it has learned the guest's
            // address from its lease; until then it lets the guest send DHCP requests only).
            var nic = System.Xml.Linq.XElement.Parse(domain.GetXml()).Element("devices")!.Element("interface")!;
            Assert.Equal($"nano-{id}", (string?)nic.Element("filterref")?.Attribute("filter"));
            using var filter = libvirt.FindNetworkFilter($"nano-{id}")!;
            Assert.Equal("nano-guest-base", (string?)System.Xml.Linq.XElement.Parse(filter.GetXml()).Element("filterref")?.Attribute("filter"));
        }
        Assert.True(QemuRuns(id), "no qemu process for the guest");
        // Its QEMU runs as the unprivileged libvirt-qemu, which libvirt makes the owner of the guest's own files while it
        // runs (and of nothing else): host files stay out of its reach.
        Assert.Equal(Stdout("id", "-u", "libvirt-qemu").Trim(),
            File.ReadLines($"/proc/{QemuPid(id)}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t')[1]);
        Assert.Equal("libvirt-qemu 600", Stdout("stat", "-c", "%U %a", volume).Trim());
        Assert.NotEqual(0, RunAs("libvirt-qemu", "head", "-c", "1", "/etc/shadow"));
        var guest = (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!;
        Assert.True(guest["running"]!.GetValue<bool>());
        var display = guest["internal"]!["display_address"]!.GetValue<string>();
        Assert.Matches(@"^127\.0\.0\.1:59\d\d$", display);
        Assert.Equal("RFB 003.008\n", await BannerAsync(display));

        // The browser's way in: a one-shot channel, then a WebSocket relayed to the guest's VNC.
        Assert.Equal("RFB 003.008\n", await RelayedBannerAsync(id, guest["monitor_secret"]!.GetValue<string>()));

        // The password the API hands out opens the console; a reset changes it at once on the running guest.
        var secret = guest["monitor_secret"]!.GetValue<string>();
        Assert.True(await VncAuthenticatesAsync(display, secret), "the guest's console refused its own password");
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/monitor/secret", new { }, _zone.AdminSession)).ErrorCode);
        var renewed = (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["monitor_secret"]!.GetValue<string>();
        Assert.Equal(8, renewed.Length); // what VNC authentication takes
        Assert.True(await VncAuthenticatesAsync(display, renewed), "the running guest's console did not take its new password");
        Assert.False(await VncAuthenticatesAsync(display, secret), "the old console password still opens the running guest");

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
            Assert.Equal(DomainState.ShutOff, domain.GetState());
        Assert.False((await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["running"]!.GetValue<bool>());
        Assert.Equal("root 600", Stdout("stat", "-c", "%U %a", volume).Trim()); // a stopped guest's files are no QEMU's
        Assert.NotEqual(0, RunAs("libvirt-qemu", "head", "-c", "1", volume));

        // Cores and memory are written to the domain definition and take effect at the next start.
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 2 }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/memory", new { memory = 192 * MiB }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/qos/cpu", new { priority = "low" }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
        {
            var xml = System.Xml.Linq.XElement.Parse(domain.GetXml());
            Assert.Equal("2", xml.Element("vcpu")!.Value);
            Assert.Equal((192 * 1024).ToString(), xml.Element("memory")!.Value);
            Assert.Equal("500", xml.Element("cputune")!.Element("shares")!.Value);
        }
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
        {
            var info = domain.GetInfo();
            Assert.Equal((DomainState.Running, 2, 192 * MiB), (info.State, info.VirtualCpus, info.MaxMemoryBytes));
        }
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);

        // A stopped guest's system disk grows; qemu-img sees the new size. Compacting keeps it.
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/disks/resize/0", new { size = 2048 * MiB }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(2048 * MiB, QemuImgVirtualSize(volume));
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/disks/shrink/0", new { }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(2048 * MiB, QemuImgVirtualSize(volume));
        Assert.Equal($"[{2048 * MiB}]", (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["disks"]!.ToJsonString());
        Assert.Equal(404, (await Rest.PutAsync($"/api/v1/guests/{id}/disks/resize/3", new { size = 4096 * MiB }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(400, (await Rest.PutAsync($"/api/v1/guests/{id}/disks/resize/0", new { size = 1024 * MiB }, _zone.AdminSession)).ErrorCode);

        // A system reset writes a blank system disk of the same size.
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(2048 * MiB, QemuImgVirtualSize(volume));
        Assert.True((await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["created"]!.GetValue<bool>());

        // Internal qcow2 snapshots of the stopped guest, through libvirt's QEMU driver.
        var snapshots = $"/api/v1/instances/{id}/snapshots/";
        foreach (var name in new[] { "base", "patched" })
        {
            var taken = await Rest.PostAsync(snapshots, new { name }, _zone.AdminSession);
            Assert.True(taken.ErrorCode == 0, taken.Text);
        }
        Assert.Equal(0, (await Rest.PutAsync(snapshots, new { target = "base" }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"{snapshots}patched", null, _zone.AdminSession)).ErrorCode);
        Assert.Equal("""{"base":{"is_root":true,"is_current":true,"backing":""}}""", (await Rest.GetAsync(snapshots, _zone.AdminSession)).Data!.ToJsonString());
        Assert.Contains("base", QemuImgSnapshots(volume));
        Assert.DoesNotContain("patched", QemuImgSnapshots(volume));
        Assert.Equal(412, (await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(412, (await Rest.PutAsync($"/api/v1/guests/{id}/disks/shrink/0", new { }, _zone.AdminSession)).ErrorCode); // it would drop them
        Assert.Contains("base", QemuImgSnapshots(volume));

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", new { force = false }, _zone.AdminSession)).ErrorCode);
        Assert.Null(libvirt.FindDomain(id));
        Assert.Empty(Directory.GetFiles(Path.Combine(_work, "images")));
        Assert.Equal(404, (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).ErrorCode);
    }

    [Fact]
    public async Task AGuestsConsole_ListensOnItsCellsLoopbackOnly_AndReachesTheBrowserThroughTheCellsTunnel()
    {
        // A cell announcing a public address of its host, as one on a real network does.
        var address = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up && n.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a)).ToString();
        var cell = $"{_cell}-pub";
        await using var agent = StartAgent(cell, "-pub", "--address", address);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/public", new { }, _zone.AdminSession)).ErrorCode);
        var (id, _) = await RunningGuestInPoolAsync("public", [cell], "console");
        var guest = (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!;
        var display = guest["internal"]!["display_address"]!.GetValue<string>();
        Assert.StartsWith($"{address}:", display); // names the cell's host and the console's port
        var port = display[(address.Length + 1)..];

        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => BannerAsync(display)); // nothing listens on the public address
        Assert.Equal("RFB 003.008\n", await BannerAsync($"127.0.0.1:{port}")); // the cell's loopback, where its agent connects
        Assert.Equal("RFB 003.008\n", await RelayedBannerAsync(id, guest["monitor_secret"]!.GetValue<string>())); // through the cell's tunnel
        await agent.WaitForOutputAsync($"Console tunnel of guest {id} closed", TimeSpan.FromSeconds(30)); // and closed with the browser's socket
        await DeleteRunningGuestAsync(id, Path.Combine(_work, "images-pub"));
    }

    [Fact]
    public async Task ACreationTheCellNeverAnswers_IsUndone_AndLeavesNothingOnceTheCellIsBack()
    {
        _agent.Freeze();
        var created = await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "orphan", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB },
        }, _zone.AdminSession);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/operations/?target={id}", _zone.AdminSession)).Data!.AsArray()
            .Any(o => o!["state"]!.GetValue<string>() == "failed"));

        // The frozen agent wakes up with the stale command queued: it refuses it (deadline passed).
        _agent.Thaw();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", _zone.AdminSession)).Data!["alive"]!.GetValue<bool>());
        await RestartAgentAsync();

        using var libvirt = Connection.Open("qemu:///system");
        Assert.Null(libvirt.FindDomain(id));
        Assert.Empty(Directory.Exists(Path.Combine(_work, "images")) ? Directory.GetFiles(Path.Combine(_work, "images"), $"{id}*") : []);
        var told = await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession);
        Assert.Equal(412, told.ErrorCode);
        Assert.Contains("did not answer", told.Message);
        Assert.Equal(404, (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).ErrorCode);
    }

    [Fact]
    public async Task AGuest_StartsWithTheCpuDefinitionItsCellWasProbedToStart_AndWithThePoolsOwnChoice()
    {
        // The agent started a paused probe domain per candidate when it joined; what started is in its hello.
        var cpus = (await Rest.GetAsync($"/api/v1/compute_pool_cells/default/{_cell}", _zone.AdminSession)).Data!["cpus"]!.AsArray()
            .Select(c => c!.GetValue<string>()).ToList();
        output.WriteLine($"CPU definitions this host starts: {string.Join(", ", cpus)}");
        var id = (await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "cpu", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB }, auto_start = true,
        }, _zone.AdminSession)).Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data?["running"]?.GetValue<bool>() == true);
        using var libvirt = Connection.Open("qemu:///system");
        if (cpus.Count == 0)
        {
            // A host where no candidate starts (seen: nested KVM on AMD EPYC, where QEMU aborts on host-passthrough and
            // host-model with "failed to set MSR 0x10a", and libvirt calls no 64-bit named model usable): the cell binds
            // nothing, and its guests are defined without a CPU definition, so they start with the default model libvirt
            // fills in (qemu64), never a host mode.
            using (var domain = libvirt.FindDomain(id)!)
            {
                Assert.Equal(DomainState.Running, domain.GetState());
                Assert.True(DomainCpu.IsNamedModel(DomainCpu.Of(domain.GetPersistentXml())), domain.GetPersistentXml());
            }
            output.WriteLine($"no definition probed: the guest runs with QEMU's default, -cpu {QemuCpu(id)}");
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, _zone.AdminSession)).ErrorCode);
            return;
        }
        // Alone in its pool, the cell's guests get host-passthrough if it starts, else the best named model.
        var automatic = cpus.Contains(DomainCpu.HostPassthrough) ? DomainCpu.HostPassthrough : cpus.First(DomainCpu.IsNamedModel);
        using (var domain = libvirt.FindDomain(id)!)
        {
            Assert.Equal(DomainState.Running, domain.GetState());
            Assert.Equal(automatic, DomainCpu.Of(domain.GetPersistentXml()));
        }
        Assert.Equal(automatic == DomainCpu.HostPassthrough ? "host" : automatic, QemuCpu(id).Split(',')[0]);

        // The pool names another definition the cell starts: the running guest keeps its CPU until it stops, then starts with the new one.
        var other = cpus.First(c => c != automatic);
        Assert.Equal(0, (await Rest.PutAsync("/api/v1/compute_pools/default", new { cpu = other }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
            Assert.Equal(automatic, DomainCpu.Of(domain.GetPersistentXml()));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
        {
            Assert.Equal(DomainState.Running, domain.GetState());
            Assert.Equal(other, DomainCpu.Of(domain.GetPersistentXml()));
            Assert.DoesNotContain("host-passthrough", domain.GetXml());
        }
        Assert.NotEqual("host", QemuCpu(id).Split(',')[0]);
        output.WriteLine($"automatic: {automatic}; then {other}: qemu -cpu {QemuCpu(id)}");

        // A definition the cell was not seen to start cannot become the pool's.
        var refused = await Rest.PutAsync("/api/v1/compute_pools/default", new { cpu = "Opteron_G1-nano-test" }, _zone.AdminSession);
        Assert.Equal(412, refused.ErrorCode);
        Assert.Contains($"cell '{_cell}'", refused.Message);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, _zone.AdminSession)).ErrorCode);
    }

    /// <summary>The value of the -cpu argument of the guest's qemu process.</summary>
    private static string QemuCpu(string guestId)
    {
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", ["-f", $"guest={guestId}"]) { RedirectStandardOutput = true })!;
        var pid = pgrep.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).First();
        pgrep.WaitForExit();
        var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
        return args[Array.IndexOf(args, "-cpu") + 1];
    }

    [Fact]
    public async Task SettingAPassword_GoesThroughLibvirtToTheGuestAgent()
    {
        var created = await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "agent", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB }, modules = new[] { "qemu" },
        }, _zone.AdminSession);
        var id = created.Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data?["created"]?.GetValue<bool>() == true);
        using (var libvirt = Connection.Open("qemu:///system"))
        using (var domain = libvirt.FindDomain(id)!)
            Assert.Contains("org.qemu.guest_agent.0", domain.GetXml());
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, _zone.AdminSession)).ErrorCode);

        // The guest has no OS, so no agent answers inside it: libvirt's QEMU driver says so, and nothing is stored.
        var refused = await Rest.PutAsync($"/api/v1/guests/{id}/auth", new { password = "N3w-pass" }, _zone.AdminSession);
        Assert.Equal(412, refused.ErrorCode);
        Assert.Contains("agent", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.NotEqual("N3w-pass", (await Rest.GetAsync($"/api/v1/guests/{id}/auth", _zone.AdminSession)).Data!["password"]!.GetValue<string>());

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, _zone.AdminSession)).ErrorCode);
    }

    [Fact]
    public async Task AGuestFromAnUploadedImage_IsACopyOnWriteOverlay_ThatBoots_AndIsClonedBackIntoAnImage()
    {
        // A small qcow2 with 48 MiB of data, uploaded as a disk image with its checksum.
        var basePath = Path.Combine(_work, "base.qcow2");
        Run("qemu-img", "create", "-q", "-f", "qcow2", basePath, "256M");
        Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 48M", basePath);
        var baseImage = (await Rest.PostAsync("/api/v1/disk_images/", new { name = "e2e-base", tags = new[] { "linux" } }, _zone.AdminSession)).Data!["id"]!.GetValue<string>();
        var upload = await UploadAsync($"/api/v1/disk_images/{baseImage}/file/", basePath);
        Assert.True(upload.ErrorCode == 0, upload.Text);

        var started = System.Diagnostics.Stopwatch.StartNew();
        var created = await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "cow", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB, 64 * MiB },
            from_image = baseImage,
        }, _zone.AdminSession);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data?["created"]?.GetValue<bool>() == true);
        started.Stop();

        // Its system volume is an overlay over the cell's cached copy; the data disk is blank.
        var volume = Path.Combine(_work, "images", $"{id}_sys.qcow2");
        var info = QemuImgInfo(volume);
        var backing = info["full-backing-filename"]!.GetValue<string>();
        Assert.StartsWith(Path.Combine(_work, "images", ".images", baseImage), backing);
        Assert.Equal(1024 * MiB, info["virtual-size"]!.GetValue<long>());
        Assert.True(new FileInfo(volume).Length < 2 * MiB, $"the overlay holds {new FileInfo(volume).Length} bytes: not copy-on-write");
        Assert.Null(QemuImgInfo(Path.Combine(_work, "images", $"{id}_1.qcow2"))["backing-filename"]);
        Assert.Equal(0, Run("qemu-img", "compare", "-U", basePath, backing));

        using var libvirt = Connection.Open("qemu:///system");
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
            Assert.Equal(DomainState.Running, domain.GetState());
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/disk_images/", new { name = "e2e-live", guest = id }, _zone.AdminSession));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);

        // A disk image cloned from the stopped guest: an operation whose progress is watched over gRPC.
        var clone = await Rest.PostAsync("/api/v1/disk_images/", new { name = "e2e-clone", guest = id }, _zone.AdminSession);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, clone.Status);
        var cloneId = clone.Data!["id"]!.GetValue<string>();
        var seen = await WatchOperationAsync(cloneId);
        Assert.Equal("succeeded", seen[^1].State);
        Assert.Contains(seen, o => o.Percent is > 1 and < 100);
        var cloned = (await Rest.GetAsync($"/api/v1/disk_images/{cloneId}", _zone.AdminSession)).Data!;
        Assert.True(cloned["created"]!.GetValue<bool>());
        var clonePath = Path.Combine(_work, "clone.qcow2");
        await DownloadAsync($"/api/v1/disk_images/{cloneId}/file", clonePath);
        Assert.Equal(cloned["size"]!.GetValue<long>(), new FileInfo(clonePath).Length);
        Assert.Null(QemuImgInfo(clonePath)["backing-filename"]); // standalone
        Assert.Equal(0, Run("qemu-img", "compare", basePath, clonePath)); // the base's data, then zeros

        // Reset the guest's system from the clone: a new overlay, and the base's cached copy goes with its last overlay.
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { from_image = cloneId }, _zone.AdminSession)).ErrorCode);
        Assert.StartsWith(Path.Combine(_work, "images", ".images", cloneId), QemuImgInfo(volume)["full-backing-filename"]!.GetValue<string>());
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(_work, "images", ".images")), f => Path.GetFileName(f).StartsWith(baseImage, StringComparison.Ordinal));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/disk_images/{baseImage}", null, _zone.AdminSession)).ErrorCode);
        Assert.Equal(412, (await Rest.DeleteAsync($"/api/v1/disk_images/{cloneId}", null, _zone.AdminSession)).ErrorCode);

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, _zone.AdminSession)).ErrorCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_work, "images", ".images")));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/disk_images/{cloneId}", null, _zone.AdminSession)).ErrorCode);
        Console.WriteLine($"guest from a {new FileInfo(basePath).Length}-byte image: created in {started.ElapsedMilliseconds} ms (first use: fetch included)");
    }

    [Fact]
    public async Task AnIso_IsInsertedEjectedAndBootedFrom_InTheLiveDomain()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_work, "iso-root")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "README.txt"), "nano e2e media");
        var isoPath = Path.Combine(_work, "media.iso");
        Run("genisoimage", "-quiet", "-output", isoPath, "-volid", "NANOE2E", folder);
        var iso = (await Rest.PostAsync("/api/v1/media_images/", new { name = "e2e.iso" }, _zone.AdminSession)).Data!["id"]!.GetValue<string>();
        var upload = await UploadAsync($"/api/v1/media_image_files/{iso}", isoPath);
        Assert.True(upload.ErrorCode == 0, upload.Text);
        var created = await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "cd", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB },
        }, _zone.AdminSession);
        var id = created.Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data?["created"]?.GetValue<bool>() == true);
        using var libvirt = Connection.Open("qemu:///system");

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, _zone.AdminSession)).ErrorCode);
        Assert.Null(LiveMedia(libvirt, id));
        var inserted = await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso }, _zone.AdminSession);
        Assert.True(inserted.ErrorCode == 0, inserted.Text);
        var cached = LiveMedia(libvirt, id);
        Assert.StartsWith(Path.Combine(_work, "images", ".images", iso), cached);
        Assert.Equal(await File.ReadAllBytesAsync(isoPath), await File.ReadAllBytesAsync(cached!));
        Assert.True((await Rest.GetAsync($"/api/v1/instances/{id}", _zone.AdminSession)).Data!["media_attached"]!.GetValue<bool>());
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}/media", null, _zone.AdminSession)).ErrorCode);
        Assert.Null(LiveMedia(libvirt, id));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);

        // Booting from the ISO: it is in the drive and first in boot order while it runs; the stored definition stays as it was.
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { from_media = true, source = iso }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
        {
            var live = System.Xml.Linq.XElement.Parse(domain.GetXml());
            var drive = live.Element("devices")!.Elements("disk").Single(d => (string?)d.Element("alias")?.Attribute("name") == DomainMedia.Alias);
            Assert.Equal("1", (string?)drive.Element("boot")?.Attribute("order"));
            Assert.Equal(cached, (string?)drive.Element("source")?.Attribute("file"));
            Assert.Null(DomainMedia.Inserted(domain.GetPersistentXml()));
        }
        Assert.Equal($"true|{iso}", $"{(await Rest.GetAsync($"/api/v1/instances/{id}", _zone.AdminSession)).Data!["media_attached"]!.ToJsonString()}|{(await Rest.GetAsync($"/api/v1/instances/{id}", _zone.AdminSession)).Data!["media_source"]}");
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);
        Assert.False((await Rest.GetAsync($"/api/v1/instances/{id}", _zone.AdminSession)).Data!["media_attached"]!.GetValue<bool>());
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, _zone.AdminSession)).ErrorCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_work, "images", ".images"))); // no drive holds the ISO: its cached copy went
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/media_images/{iso}", null, _zone.AdminSession)).ErrorCode);
    }

    [Fact]
    public async Task AGuestsFirewall_IsAnNwfilterBoundToItsNic_RebuiltOnEachChange_AndRemovedWithTheGuest()
    {
        // The pool hands out addresses: the guest's is the only one its NIC may send from.
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/address_pools/fw{_bridge}", new { gateway = "10.77.0.1", provider = "cloudinit" }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/address_pools/fw{_bridge}/internal/ranges/10.77.0.10", new { end = "10.77.0.20", netmask = "255.255.255.0" }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PutAsync("/api/v1/compute_pools/default", new { network = $"fw{_bridge}" }, _zone.AdminSession)).ErrorCode);
        var group = (await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"fw{_bridge}", enabled = true, default_action = "reject" }, _zone.AdminSession))
            .Data!["id"]!.GetValue<string>();
        foreach (var rule in new object[] { new { protocol = "tcp", to_port = 22 }, new { protocol = "icmp", from_address = "10.9.8.7" } })
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/security_policy_groups/{group}/rules/", rule, _zone.AdminSession)).ErrorCode);
        var created = await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "fw", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB },
            security_policy_group = group,
        }, _zone.AdminSession);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data?["created"]?.GetValue<bool>() == true);
        using var libvirt = Connection.Open("qemu:///system");
        Assert.Equal("accept tcp:22, accept icmp:0 | reject", Firewall(libvirt, id));

        // Running, the guest's tap device carries the filter: libvirt has instantiated its rules.
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, _zone.AdminSession)).ErrorCode);
        string tap, mac;
        var address = (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["internal"]!["allocated_address"]!.GetValue<string>().Split('/')[0];
        Assert.StartsWith("10.77.0.", address);
        using (var domain = libvirt.FindDomain(id)!)
        {
            var nic = System.Xml.Linq.XElement.Parse(domain.GetXml()).Element("devices")!.Element("interface")!;
            Assert.Equal($"nano-{id}", (string?)nic.Element("filterref")?.Attribute("filter"));
            Assert.Equal(address, (string?)nic.Element("filterref")!.Elements("parameter").Single(p => (string?)p.Attribute("name") == "IP").Attribute("value"));
            Assert.Equal(_bridge, (string?)nic.Element("source")?.Attribute("bridge"));
            tap = (string)nic.Element("target")!.Attribute("dev")!;
            mac = (string)nic.Element("mac")!.Attribute("address")!;
        }
        Assert.Contains("--dport 22", Iptables($"FO-{tap}"));
        // Anti-spoofing (libvirt's clean-traffic, included by the guest's filter): on the bridge, frames from the guest's
        // tap pass only with its own MAC, IPv4 only from its own address, ARP only for its own pair; the rest is dropped.
        var bridgeRules = Stdout("ebtables", "-t", "nat", "-L", "--Lmac2");
        output.WriteLine(bridgeRules);
        Assert.Contains($"--ip-src {address} -j RETURN", bridgeRules);
        Assert.Contains($"-s {mac} -j RETURN", bridgeRules);
        Assert.Contains($"--arp-ip-src {address} -j RETURN", bridgeRules);
        Assert.Contains("-p udp -m udp --sport 67 -j DROP", Iptables($"FI-{tap}")); // no DHCP answers from the guest

        var policy = $"/api/v1/guests/{id}/security_policy";
        Assert.Equal(0, (await Rest.PostAsync($"{policy}/rules/", new { protocol = "udp", to_port = 53, to_address = "10.1.2.3" }, _zone.AdminSession)).ErrorCode);
        Assert.Equal("accept tcp:22, accept icmp:0, accept udp:53 | reject", Firewall(libvirt, id));
        Assert.Equal(0, (await Rest.PutAsync($"{policy}/rules/2/order", new { direction = "up" }, _zone.AdminSession)).ErrorCode);
        Assert.Equal("accept tcp:22, accept udp:53, accept icmp:0 | reject", Firewall(libvirt, id));
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{id}/security_policy/rules/0", new { action = "reject", protocol = "tcp", to_port = 22 }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/security_policy/rules/2?guest={id}", null, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PutAsync($"{policy}/default_action", new { action = "accept" }, _zone.AdminSession)).ErrorCode);
        Assert.Equal("reject tcp:22, accept udp:53 | accept", Firewall(libvirt, id));
        Assert.Contains("REJECT", Iptables($"FO-{tap}")); // the running guest's rules followed

        // A firewall made before the base filter existed (clean-traffic included directly) is rewritten to include the
        // base when the agent joins, its rules unchanged, and the running guest's NIC follows.
        using (var current = libvirt.FindNetworkFilter($"nano-{id}")!)
        {
            var older = System.Xml.Linq.XElement.Parse(current.GetXml());
            older.Element("filterref")!.SetAttributeValue("filter", "clean-traffic");
            using (libvirt.DefineNetworkFilter(older.ToString()))
            {
            }
        }
        await WaitForAsync(() => Task.FromResult(!Iptables($"FI-{tap}").Contains("--sport 67 -j DROP")));
        await RestartAgentAsync();
        await WaitForAsync(() =>
        {
            using var rewritten = libvirt.FindNetworkFilter($"nano-{id}")!;
            return Task.FromResult((string?)System.Xml.Linq.XElement.Parse(rewritten.GetXml()).Element("filterref")?.Attribute("filter") == "nano-guest-base");
        });
        Assert.Equal("reject tcp:22, accept udp:53 | accept", Firewall(libvirt, id));
        await WaitForAsync(() => Task.FromResult(Iptables($"FI-{tap}").Contains("-p udp -m udp --sport 67 -j DROP")));

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, _zone.AdminSession)).ErrorCode);
        Assert.Null(libvirt.FindNetworkFilter($"nano-{id}"));
        Assert.Equal(0, (await Rest.PutAsync("/api/v1/compute_pools/default", new { network = "" }, _zone.AdminSession)).ErrorCode);

        // A filter whose guest's domain vanished outside the agent goes when the agent (re)joins.
        var stray = Guid.NewGuid().ToString();
        using (libvirt.DefineNetworkFilter(new FirewallDefinition($"nano-{stray}", stray, DefaultAccept: true, []).ToXml()))
        {
        }
        await RestartAgentAsync();
        await WaitForAsync(() => Task.FromResult(libvirt.FindNetworkFilter($"nano-{stray}") is null));
    }

    [Fact]
    public async Task AGuestsFilter_DropsWhatItSendsFromAnotherAddressOrMac_OnTheBridge()
    {
        // A stand-in guest that can send anything: a veth pair with one end on the bridge (where a guest's tap is) and the
        // other in a network namespace (the guest's side), bound through libvirt to the filter the agent gives every guest.
        var id = Guid.NewGuid().ToString();
        var (port, inside, ns) = ($"vp{id[..8]}", $"vg{id[..8]}", $"nano-spoof-{id[..8]}");
        const string own = "10.78.0.17", neighbour = "10.78.0.18", host = "10.78.0.1", mac = "00:16:3e:78:00:17", otherMac = "00:16:3e:78:00:18";
        using var libvirt = Connection.Open("qemu:///system");
        using (libvirt.DefineNetworkFilter(new FirewallDefinition($"nano-{id}", id, DefaultAccept: false, []).ToXml()))
        {
        }
        void InGuest(params string[] command) => Run("ip", ["netns", "exec", ns, .. command]);
        Run("ip", "netns", "add", ns);
        try
        {
            Run("ip", "link", "add", port, "type", "veth", "peer", "name", inside);
            Run("ip", "link", "set", inside, "netns", ns);
            InGuest("ip", "link", "set", inside, "address", mac);
            InGuest("ip", "link", "set", inside, "up");
            InGuest("ip", "addr", "add", $"{own}/24", "dev", inside);
            Run("ip", "link", "set", port, "master", _bridge);
            Run("ip", "link", "set", port, "up");
            Run("ip", "addr", "add", $"{host}/24", "dev", _bridge);
            var binding = Path.Combine(_work, "binding.xml");
            File.WriteAllText(binding, $"""
                <filterbinding><owner><name>spoof-{id[..8]}</name><uuid>{id}</uuid></owner><portdev name='{port}'/><mac address='{mac}'/>
                <filterref filter='nano-{id}'><parameter name='IP' value='{own}'/></filterref></filterbinding>
                """);
            Run("virsh", "-c", "qemu:///system", "nwfilter-binding-create", binding);
            using var listener = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(host), 0));
            var listening = ((System.Net.IPEndPoint)listener.Client.LocalEndPoint!).Port;
            async Task<bool> ArrivesAsync(string text, int sourcePort = 0)
            {
                Execute("ip", ["netns", "exec", ns, "python3", "-c",
                    $"import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('', {sourcePort})); s.sendto(b'{text}', ('{host}', {listening}))"]);
                try
                {
                    while (true)
                    {
                        var got = await listener.ReceiveAsync().WaitAsync(TimeSpan.FromSeconds(3));
                        if (Encoding.ASCII.GetString(got.Buffer).Trim() == text)
                            return true;
                    }
                }
                catch (TimeoutException)
                {
                    return false;
                }
            }

            Assert.True(await ArrivesAsync("own"), "the guest's own traffic did not pass its filter");
            // A DHCP server's answer (UDP from port 67), from the guest's own address and MAC, goes no further than its NIC.
            Assert.True(await ArrivesAsync("own-from-6767", sourcePort: 6767), "the guest's own traffic from a chosen port did not pass its filter");
            Assert.False(await ArrivesAsync("dhcp-answer", sourcePort: 67), "a DHCP answer from the guest crossed the bridge");
            InGuest("ip", "addr", "flush", "dev", inside);
            InGuest("ip", "addr", "add", $"{neighbour}/24", "dev", inside);
            Assert.False(await ArrivesAsync("another-address"), "a packet from another guest's address crossed the bridge");
            InGuest("ip", "addr", "flush", "dev", inside);
            InGuest("ip", "addr", "add", $"{own}/24", "dev", inside);
            InGuest("ip", "link", "set", inside, "down");
            InGuest("ip", "link", "set", inside, "address", otherMac);
            InGuest("ip", "link", "set", inside, "up");
            Assert.False(await ArrivesAsync("another-mac"), "a frame from another MAC crossed the bridge");
        }
        finally
        {
            Execute("virsh", ["-c", "qemu:///system", "nwfilter-binding-delete", port]);
            Execute("ip", ["link", "del", port]);
            Execute("ip", ["netns", "del", ns]);
            Execute("ip", ["addr", "del", $"{host}/24", "dev", _bridge]);
            using var filter = libvirt.FindNetworkFilter($"nano-{id}");
            filter?.Undefine();
        }
    }

    [Fact]
    public async Task ABatchOfTenGuests_IsCreatedRunningThenStoppedAndDeleted_LeavingNothing()
    {
        var started = await Rest.PostAsync("/api/v1/batch/create_guest/", new
        {
            name_rule = "order", name_prefix = "many", count = 10, pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 64 * MiB,
            disks = new[] { 256 * MiB }, auto_start = true,
        }, _zone.AdminSession);
        Assert.True(started.ErrorCode == 0, started.Text);
        var created = await WaitBatchAsync("create_guest", started.Data!["id"]!.GetValue<string>());
        Assert.True(created.All(i => i!["status"]!.GetValue<string>() == "created"), created.ToJsonString());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"many_{i}:created"), created.Select(i => $"{i!["name"]}:{i["status"]}"));
        var ids = created.Select(i => i!["id"]!.GetValue<string>()).ToArray();
        using var libvirt = Connection.Open("qemu:///system");
        Assert.All(ids, id =>
        {
            using var domain = libvirt.FindDomain(id);
            Assert.Equal(DomainState.Running, domain!.GetState());
        });

        var stop = await Rest.PostAsync("/api/v1/batch/stop_guest/", new { guest = ids, force = true }, _zone.AdminSession);
        Assert.All(await WaitBatchAsync("stop_guest", stop.Data!["id"]!.GetValue<string>()), i => Assert.Equal("stopped", i!["status"]!.GetValue<string>()));
        var delete = await Rest.PostAsync("/api/v1/batch/delete_guest/", new { guest = ids }, _zone.AdminSession);
        Assert.All(await WaitBatchAsync("delete_guest", delete.Data!["id"]!.GetValue<string>()), i => Assert.Equal("deleted", i!["status"]!.GetValue<string>()));

        Assert.All(ids, id => Assert.Null(libvirt.FindDomain(id)));
        Assert.Empty(Directory.GetFiles(Path.Combine(_work, "images")));
        Assert.Empty((await Rest.GetAsync($"/api/v1/guest_search/?pool=default", _zone.AdminSession)).Data!.AsArray());
    }

    private async Task<System.Text.Json.Nodes.JsonArray> WaitBatchAsync(string kind, string id)
    {
        RestAnswer answer = null!;
        await WaitForAsync(async () => (answer = await Rest.GetAsync($"/api/v1/batch/{kind}/{id}", _zone.AdminSession)).Status == System.Net.HttpStatusCode.OK);
        Assert.Equal(0, answer.ErrorCode);
        return answer.Data!.AsArray();
    }

    [Fact]
    public async Task AStoppedGuest_MigratesWithItsDisksToASecondCellOnTheSameLibvirtd_AndStartsThere()
    {
        // A second agent on this host: its own name and storage folder, the same libvirtd.
        var second = $"{_cell}-b";
        await using var secondAgent = StartAgent(second, "-b");
        await WaitForAsync(async () => (await Rest.GetAsync("/api/v1/compute_pool_cells/", _zone.AdminSession)).Data!.AsArray().Any(c => c!["name"]!.GetValue<string>() == second));
        var added = await Rest.PostAsync($"/api/v1/compute_pool_cells/default/{second}", null, _zone.AdminSession);
        Assert.True(added.ErrorCode == 0, added.Text);

        var image = await UploadBaseImageAsync("move-base", "0x33");
        var created = await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "mover", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 64 * MiB, disks = new[] { 256 * MiB, 64 * MiB },
            from_image = image, modules = new[] { "cloud-init" },
        }, _zone.AdminSession);
        var id = created.Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data?["created"]?.GetValue<bool>() == true);
        var from = (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["cell"]!.GetValue<string>();
        var to = from == _cell ? second : _cell;
        string Folder(string cell) => Path.Combine(_work, cell == _cell ? "images" : "images-b");
        Assert.Equal(3, Directory.GetFiles(Folder(from), $"{id}_*").Length);

        var migration = await Rest.PostAsync("/api/v1/migrations/", new { source_pool = "default", source_cell = from, target_cell = to, instances = new[] { id } }, _zone.AdminSession);
        Assert.True(migration.ErrorCode == 0, migration.Text);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, migration.Status);
        var migrationId = migration.Data!["id"]!.GetValue<string>();
        RestAnswer status = null!;
        await WaitForAsync(async () => (status = await Rest.GetAsync($"/api/v1/migrations/{migrationId}", _zone.AdminSession)).Data!["finished"]!.GetValue<bool>());
        Assert.True(status.Data!["error"]!.GetValue<string>() == "", status.Text);
        Assert.Equal(System.Net.HttpStatusCode.OK, status.Status);

        Assert.Equal(to, (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["cell"]!.GetValue<string>());
        Assert.Empty(Directory.GetFiles(Folder(from), $"{id}_*"));
        Assert.Equal(3, Directory.GetFiles(Folder(to), $"{id}_*").Length);
        Assert.StartsWith(Path.Combine(Folder(to), ".images"), QemuImgInfo(Path.Combine(Folder(to), $"{id}_sys.qcow2"))["full-backing-filename"]!.GetValue<string>());
        using var libvirt = Connection.Open("qemu:///system");
        using (var domain = libvirt.FindDomain(id)!)
            Assert.Equal(to, DomainOwner.Of(domain)!.Cell);

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, _zone.AdminSession)).ErrorCode);
        using (var domain = libvirt.FindDomain(id)!)
            Assert.Equal(DomainState.Running, domain.GetState());
        Assert.Equal(412, (await Rest.PostAsync("/api/v1/migrations/", new { source_pool = "default", source_cell = to, target_cell = from, instances = new[] { id } }, _zone.AdminSession)).ErrorCode);
        Assert.DoesNotContain(migrationId, (await Rest.GetAsync("/api/v1/migrations/", _zone.AdminSession)).Text); // returned once, forgotten
        await DeleteRunningGuestAsync(id, Folder(to));
    }

    [Fact]
    public async Task WhenTheFirstAgentOfAFailoverPoolIsKilled_ItsGuestComesUpOnTheSecond_FromTheSharedFolder()
    {
        var shared = Directory.CreateDirectory(Path.Combine(_work, "shared")).FullName;
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/storage_pools/ha-folder", new { type = "shared", target = shared }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/ha", new { storage = "ha-folder", failover = true }, _zone.AdminSession)).ErrorCode);
        var cells = new[] { $"{_cell}-fa", $"{_cell}-fb" };
        var agents = new Dictionary<string, AgentProcess> { [cells[0]] = StartAgent(cells[0], "-fa"), [cells[1]] = StartAgent(cells[1], "-fb") };
        try
        {
            var (id, from) = await RunningGuestInPoolAsync("ha", cells, "survivor"); // the agents found the shared folder
            var to = cells.Single(c => c != from);
            var system = Path.Combine(shared, $"{id}_sys.qcow2");
            Assert.StartsWith(Path.Combine(_work, $"images-{from[^2..]}", ".images"), QemuImgInfo(system)["full-backing-filename"]!.GetValue<string>());
            var firstQemu = QemuPid(id);

            var killed = Stopwatch.StartNew();
            await agents[from].KillAsync(); // its guest keeps running in libvirtd, as on a host whose agent died
            await WaitForAsync(async () =>
            {
                var answer = await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession);
                if (answer.Data is not System.Text.Json.Nodes.JsonObject g)
                {
                    output.WriteLine($"while failing over, GET /guests/{id} answered {answer.Text}");
                    return false;
                }
                return g["cell"]!.GetValue<string>() == to && g["running"]!.GetValue<bool>();
            });
            output.WriteLine($"agent killed -> guest running on the other cell: {killed.ElapsedMilliseconds} ms (failover grace 3 s)");

            using (var libvirt = Connection.Open("qemu:///system"))
            using (var domain = libvirt.FindDomain(id)!)
            {
                Assert.Equal(new DomainOwner(id, to, 2, await ZoneIdAsync()), DomainOwner.Of(domain));
                Assert.Equal(DomainState.Running, domain.GetState());
            }
            Assert.NotEqual(firstQemu, QemuPid(id)); // the lost cell's copy was powered off, one qemu runs the guest now
            Assert.Equal([system], Directory.GetFiles(shared, $"{id}_*")); // the same volume on the shared folder
            Assert.StartsWith(Path.Combine(_work, $"images-{to[^2..]}", ".images"), QemuImgInfo(system)["full-backing-filename"]!.GetValue<string>());
            var lost = (await Rest.GetAsync($"/api/v1/compute_cell_status/ha/{from}", _zone.AdminSession)).Data!;
            Assert.False(lost["enabled"]!.GetValue<bool>());

            // The lost cell returns: nothing of the guest is its own any more, and the guest stays where it is.
            agents[from] = StartAgent(from, $"-{from[^2..]}");
            await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/ha/{from}", _zone.AdminSession)).Data!["alive"]!.GetValue<bool>());
            Assert.Equal(to, (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["cell"]!.GetValue<string>());
            Assert.True(QemuRuns(id));

            // An agent stopped in order says goodbye: its guest is lost, not failed over, though a cell could take it.
            Assert.Equal(0, (await Rest.PutAsync($"/api/v1/compute_pool_cells/ha/{from}", new { enable = true }, _zone.AdminSession)).ErrorCode);
            Assert.True(await agents[to].StopAsync() < TimeSpan.FromSeconds(10));
            await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["lost"]?.GetValue<bool>() == true);
            await Task.Delay(TimeSpan.FromSeconds(8)); // more than twice the grace period
            Assert.Equal(to, (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["cell"]!.GetValue<string>());
            Assert.True(QemuRuns(id)); // the agent's stop leaves its guests running
            agents[to] = StartAgent(to, $"-{to[^2..]}");
            await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["lost"]?.GetValue<bool>() != true);

            await DeleteRunningGuestAsync(id, shared);
        }
        finally
        {
            foreach (var agent in agents.Values)
                await agent.DisposeAsync();
        }
    }

    /// <summary>
    /// Issue 14, item 4: fencing that holds on separate hosts. Cell A (this libvirtd) reaches the server through a path
    /// the test partitions; cell B runs on the second libvirtd (another host, as far as libvirt goes). A's guest of a
    /// failover pool on a shared folder must be powered off by A's own watchdog before B starts it; once the partition
    /// heals, A lets its stale copy go and nothing runs twice. Both libvirtds are watched every 100 ms throughout.
    /// </summary>
    [Fact]
    public async Task APartitionedCell_PowersItsGuestOffBeforeTheGuestStartsElsewhere_AndNothingRunsTwiceOnceItHeals()
    {
        await using var daemon = await SecondLibvirtd.StartAsync(Path.Combine(_work, "libvirtd-p"));
        await using var proxy = new PartitionProxy(_zone.Server.GrpcPort);
        var shared = Directory.CreateDirectory(Path.Combine(_work, "shared-p")).FullName;
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/storage_pools/fence-folder", new { type = "shared", target = shared }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/fence", new { storage = "fence-folder", failover = true }, _zone.AdminSession)).ErrorCode);
        var (a, b) = ($"{_cell}-pa", $"{_cell}-pb");
        await using var agentA = StartAgent(a, "-pa", "--server", $"https://127.0.0.1:{proxy.Port}");
        var (id, _) = await RunningGuestInPoolAsync("fence", [a], "fenced");
        await using var agentB = StartAgent(b, "-pb", "--libvirt-uri", daemon.Uri);
        await JoinPoolAsync("fence", b);

        // Both copies watched: when A's stops running, when B's starts, and whether both ever ran at once.
        var watch = new CopyWatch(id, "qemu:///system", daemon.Uri);
        try
        {
            proxy.Cut();
            var cut = watch.Now;
            await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data is System.Text.Json.Nodes.JsonObject g &&
                g["cell"]?.GetValue<string>() == b && g["running"]?.GetValue<bool>() == true);
            await agentA.WaitForOutputAsync("Fencing: no word from the server", TimeSpan.FromSeconds(5));
            // The watcher polls every 100 ms: it may see B's copy run a moment after the server says so.
            await WaitForAsync(() => Task.FromResult(watch.NewStarted >= 0));
            var (off, on) = (watch.OldStopped, watch.NewStarted);
            output.WriteLine($"partition at {cut} ms; A's copy powered off at {off} ms (A's watchdog); B's copy running at {on} ms (failover)");
            Assert.InRange(off, cut, on - 1);

            proxy.Heal();
            await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/fence/{a}", _zone.AdminSession)).Data!["alive"]!.GetValue<bool>());
            using (var here = Connection.Open("qemu:///system"))
                await WaitForAsync(() => { using var stale = here.FindDomain(id); return Task.FromResult(stale is null); }); // let go, its files kept
            output.WriteLine($"healed at {watch.Now} ms: A rejoined and let its stale copy go");
            Assert.True(QemuRuns(id));
            Assert.Single(QemuPids(id));
            Assert.Equal(0, watch.Together);
            Assert.Equal(b, (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["cell"]!.GetValue<string>());
        }
        finally
        {
            await watch.DisposeAsync();
            var said = agentA.Output.Split('\n');
            output.WriteLine($"cell A's agent said of fencing:\n{string.Join('\n', said.Where(l => l.Contains("Fencing")))}\nand last:\n{string.Join('\n', said.TakeLast(12))}");
        }
        await DeleteRunningGuestAsync(id, shared);
    }

    /// <summary>
    /// Issue 14, item 4: disk leases, for a cell that cannot fence. Cell A's agent is frozen (SIGSTOP: its stream stays
    /// open and silent, its watchdog cannot run) while its guest of a failover pool keeps running on this libvirtd; cell
    /// B runs on the second libvirtd, with its own virtlockd. A's virtlockd holds the lease on the guest's disk on the
    /// shared folder, so every failover to B is refused while A's copy runs; once that copy ends (powered off here, as an
    /// operator would), the lease is free, the next try starts the guest on B under B's lease, and nothing ran twice.
    /// </summary>
    [Fact]
    public async Task ACellThatCannotFence_KeepsTheLeaseOfItsRunningCopy_SoTheFailoverCannotStartASecond()
    {
        await using var daemon = await SecondLibvirtd.StartAsync(Path.Combine(_work, "libvirtd-l"));
        var shared = Directory.CreateDirectory(Path.Combine(_work, "shared-l")).FullName;
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/storage_pools/lease-folder", new { type = "shared", target = shared }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/lease", new { storage = "lease-folder", failover = true }, _zone.AdminSession)).ErrorCode);
        var (a, b) = ($"{_cell}-la", $"{_cell}-lb");
        await using var agentA = StartAgent(a, "-la");
        var (id, _) = await RunningGuestInPoolAsync("lease", [a], "leased");
        await using var agentB = StartAgent(b, "-lb", "--libvirt-uri", daemon.Uri);
        await JoinPoolAsync("lease", b);
        string disk;
        using (var here = Connection.Open("qemu:///system"))
            disk = DiskLease.SystemDiskOf(here, id);
        var ourLockDaemon = int.Parse(File.ReadAllText("/run/virtlockd.pid").Trim());
        Assert.StartsWith(shared, disk);
        // virtlockd takes the lease before the guest's CPUs first run; the check allows for a slow daemon on a loaded host.
        for (var look = 0; look < 50 && DiskLease.HolderOf(disk) != ourLockDaemon; look++)
            await Task.Delay(100);
        Assert.True(DiskLease.HolderOf(disk) == ourLockDaemon, $"the lease of {disk} is not held by virtlockd ({ourLockDaemon}): {DiskLease.Describe(disk)}");

        await using var watch = new CopyWatch(id, "qemu:///system", daemon.Uri);
        agentA.Freeze();
        var frozen = watch.Now;
        async Task<string[]> FailedFailoversAsync() => [.. (await Rest.GetAsync($"/api/v1/operations/?target={id}&limit=100", _zone.AdminSession)).Data!.AsArray()
            .Where(o => o!["kind"]!.GetValue<string>() == "failover_guest" && o["state"]!.GetValue<string>() == "failed").Select(o => o!["error"]!.GetValue<string>())];
        await WaitForAsync(async () => (await FailedFailoversAsync()).Length >= 2);
        var refused = await FailedFailoversAsync();
        output.WriteLine($"A frozen at {frozen} ms; by {watch.Now} ms {refused.Length} failovers to B refused, the first: {refused[^1]}");
        Assert.True(QemuRuns(id));
        Assert.Equal(-1, watch.NewStarted);
        Assert.Equal(ourLockDaemon, DiskLease.HolderOf(disk));

        using (var here = Connection.Open("qemu:///system"))
        using (var old = here.FindDomain(id)!)
            old.Destroy();
        var released = watch.Now;
        Assert.Null(DiskLease.HolderOf(disk));
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data is System.Text.Json.Nodes.JsonObject g &&
            g["cell"]?.GetValue<string>() == b && g["running"]?.GetValue<bool>() == true);
        await WaitForAsync(() => Task.FromResult(watch.NewStarted >= 0));
        output.WriteLine($"A's copy powered off at {released} ms (lease released); B's copy running at {watch.NewStarted} ms under B's lease");
        Assert.Equal(daemon.LockDaemonPid, DiskLease.HolderOf(disk));

        agentA.Thaw();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/lease/{a}", _zone.AdminSession)).Data!["alive"]!.GetValue<bool>());
        using (var here = Connection.Open("qemu:///system"))
            await WaitForAsync(() => { using var stale = here.FindDomain(id); return Task.FromResult(stale is null); });
        Assert.Single(QemuPids(id));
        Assert.Equal(0, watch.Together);
        Assert.Equal(daemon.LockDaemonPid, DiskLease.HolderOf(disk));
        await DeleteRunningGuestAsync(id, shared);
    }

    /// <summary>
    /// Issue 14, item 6, on real KVM: a creation whose cell's stream breaks while the cell works on it is finished, not
    /// undone. The agent keeps at the command past the broken stream, and the server sends it again, under the same id,
    /// on the cell's next stream. The cell's libvirtd is held (SIGSTOP) while the stream breaks, so the break falls
    /// inside the creation: the agent waits there on its first libvirt call.
    /// </summary>
    [Fact]
    public async Task ACreationWhoseStreamBreaksWhileTheCellWorksOnIt_IsFinished_NotUndone()
    {
        await using var daemon = await SecondLibvirtd.StartAsync(Path.Combine(_work, "libvirtd-b"));
        await using var proxy = new PartitionProxy(_zone.Server.GrpcPort);
        var cell = $"{_cell}-br";
        await using var agent = StartAgent(cell, "-br", "--libvirt-uri", daemon.Uri, "--server", $"https://127.0.0.1:{proxy.Port}");
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/breaks", new { }, _zone.AdminSession)).ErrorCode);
        await JoinPoolAsync("breaks", cell);
        string id;
        daemon.Freeze();
        try
        {
            var created = await Rest.PostAsync("/api/v1/guests/", new
            {
                name = "unbroken", pool = "breaks", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 64 * MiB, disks = new[] { 256 * MiB }, auto_start = true,
            }, _zone.AdminSession);
            Assert.True(created.ErrorCode == 0, created.Text);
            id = created.Data!["id"]!.GetValue<string>();
            await Task.Delay(TimeSpan.FromSeconds(3)); // the command reaches the agent within milliseconds, then waits on libvirtd
            proxy.Cut();
            proxy.Heal(); // both ends see their stream end; the agent connects again
        }
        finally
        {
            daemon.Thaw();
        }
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data is System.Text.Json.Nodes.JsonObject g &&
            g["created"]?.GetValue<bool>() == true && g["running"]?.GetValue<bool>() == true);
        // The row says created and running a moment before the operation writes its end.
        System.Text.Json.Nodes.JsonNode operation = null!;
        await WaitForAsync(async () => (operation = (await Rest.GetAsync($"/api/v1/operations/?target={id}", _zone.AdminSession)).Data![0]!)["finished"]!.GetValue<bool>());
        Assert.Equal("succeeded", operation["state"]!.GetValue<string>());
        Assert.True(agent.Output.Split('\n').Count(l => l.Contains($"as {cell}:")) >= 2, "the agent's stream did not break"); // it joined again
        await DeleteRunningGuestAsync(id, Path.Combine(_work, "images-br"));
    }

    /// <summary>
    /// Issue 14, item 2, on real KVM: two zones (two servers, two databases) whose agents share one libvirtd and even
    /// one cell name. Each zone's agent joining, and joining again, leaves the other zone's running guest alone, and
    /// neither zone lists the other's domain as one of its own unknown ones.
    /// </summary>
    [Fact]
    public async Task TwoZonesOnOneLibvirtd_UnderOneCellName_NeverTouchEachOthersGuests()
    {
        var ours = await RunningGuestAsync(Rest, _zone.AdminSession, "ours");
        const string otherToken = "e2e-other-zone-token";
        var other = new AgentZone(otherToken);
        await other.InitializeAsync();
        AgentProcess? theirAgent = null;
        try
        {
            AgentProcess StartTheirs() => AgentProcess.Start("--server", other.Server.GrpcUrl, "--ca-file", other.Server.CaFile!, "--token", otherToken,
                "--name", _cell, "--address", "127.0.0.1", "--libvirt-uri", "qemu:///system", "--bridge", _bridge,
                "--storage-path", Path.Combine(_work, "images-z2"), "--mount-root", Path.Combine(_work, "mounts-z2"), "--state-file", Path.Combine(_work, "cell-z2.json"));
            theirAgent = StartTheirs();
            await WaitForAsync(async () => (await other.Rest.GetAsync("/api/v1/compute_pool_cells/", other.AdminSession)).Data!.AsArray().Any(c => c!["name"]!.GetValue<string>() == _cell));
            Assert.Equal(0, (await other.Rest.PostAsync($"/api/v1/compute_pool_cells/default/{_cell}", null, other.AdminSession)).ErrorCode);
            await WaitForAsync(async () => (await other.Rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", other.AdminSession)).Data!["available_memory"]!.GetValue<long>() > 0);
            var theirs = await RunningGuestAsync(other.Rest, other.AdminSession, "theirs");
            Assert.True(QemuRuns(ours));

            // Each agent joins again, reporting both zones' domains under the one cell name.
            await theirAgent.KillAsync();
            await theirAgent.DisposeAsync();
            theirAgent = StartTheirs();
            await RestartAgentAsync();
            await WaitForAsync(async () => (await other.Rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", other.AdminSession)).Data!["alive"]!.GetValue<bool>());
            await Task.Delay(TimeSpan.FromSeconds(3)); // what a join does, it does within that
            Assert.True(QemuRuns(ours));
            Assert.True(QemuRuns(theirs));
            Assert.Empty((await Rest.GetAsync("/api/v1/unknown_domains/", _zone.AdminSession)).Data!.AsArray());
            Assert.Empty((await other.Rest.GetAsync("/api/v1/unknown_domains/", other.AdminSession)).Data!.AsArray());
            Assert.True((await Rest.GetAsync($"/api/v1/guests/{ours}", _zone.AdminSession)).Data!["running"]!.GetValue<bool>());
            Assert.True((await other.Rest.GetAsync($"/api/v1/guests/{theirs}", other.AdminSession)).Data!["running"]!.GetValue<bool>());

            Assert.Equal(0, (await other.Rest.DeleteAsync($"/api/v1/instances/{theirs}", new { force = true }, other.AdminSession)).ErrorCode);
            Assert.Equal(0, (await other.Rest.DeleteAsync($"/api/v1/guests/{theirs}", null, other.AdminSession)).ErrorCode);
            Assert.True(QemuRuns(ours));
        }
        finally
        {
            if (theirAgent is not null)
                await theirAgent.DisposeAsync();
            await other.DisposeAsync();
        }
        await DeleteRunningGuestAsync(ours, Path.Combine(_work, "images"));
    }

    /// <summary>A small guest created running in the default pool of the zone behind <paramref name="rest"/>; its id.</summary>
    private static async Task<string> RunningGuestAsync(RestClient rest, string session, string name)
    {
        var created = await rest.PostAsync("/api/v1/guests/", new
        {
            name, pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 64 * MiB, disks = new[] { 256 * MiB }, auto_start = true,
        }, session);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => (await rest.GetAsync($"/api/v1/guests/{id}", session)).Data is System.Text.Json.Nodes.JsonObject g &&
            g["running"]?.GetValue<bool>() == true && g["created"]?.GetValue<bool>() == true);
        return id;
    }

    [Fact]
    public async Task ALibvirtdRestart_LeavesTheGuestRunning_AndTheCellWorksAgainWithinSeconds()
    {
        await using var daemon = await SecondLibvirtd.StartAsync(Path.Combine(_work, "libvirtd-r"));
        var cell = $"{_cell}-lr";
        await using var agent = StartAgent(cell, "-lr", "--libvirt-uri", daemon.Uri);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/restarts", new { }, _zone.AdminSession)).ErrorCode);
        var (id, _) = await RunningGuestInPoolAsync("restarts", [cell], "steady");
        var qemu = QemuPid(id);

        await daemon.RestartAsync(TimeSpan.FromSeconds(2)); // killed, down for 2 s, started again
        var back = Stopwatch.StartNew();
        Assert.Equal(qemu, QemuPid(id)); // the guest ran on through it
        // The cell works again: it stops its guest, through a new libvirt connection, and reports it.
        await WaitForAsync(async () => (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode == 0);
        output.WriteLine($"libvirtd back -> the cell carried out a command: {back.ElapsedMilliseconds} ms");
        Assert.True(back.Elapsed < TimeSpan.FromSeconds(10), $"the cell took {back.Elapsed} to work again");
        Assert.False((await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["running"]!.GetValue<bool>());
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, _zone.AdminSession)).ErrorCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ARunningGuest_MigratesLive_ToACellOnAnotherLibvirtd(bool sharedFolder)
    {
        await using var other = await SecondLibvirtd.StartAsync(Path.Combine(_work, "libvirtd-b"));
        var shared = Directory.CreateDirectory(Path.Combine(_work, "live-shared")).FullName;
        string[] cacheOption = [];
        if (sharedFolder)
        {
            Assert.Equal(0, (await Rest.PostAsync("/api/v1/storage_pools/live-folder", new { type = "shared", target = shared }, _zone.AdminSession)).ErrorCode);
            // Cells on shared storage keep cached images at one path, as hosts set up alike do: an overlay names its base by path.
            cacheOption = ["--image-cache", Path.Combine(_work, "live-cache")];
        }
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/live", new { storage = sharedFolder ? "live-folder" : "" }, _zone.AdminSession)).ErrorCode);
        // Two "hosts": this libvirtd and the second one.
        var uris = new Dictionary<string, string> { [$"{_cell}-la"] = "qemu:///system", [$"{_cell}-lb"] = other.Uri };
        var agents = uris.ToDictionary(u => u.Key, u => StartAgent(u.Key, $"-{u.Key[^2..]}", ["--libvirt-uri", u.Value, "--migration-uri", u.Value, .. cacheOption]));
        string Folder(string cell) => sharedFolder ? shared : Path.Combine(_work, $"images-{cell[^2..]}");
        try
        {
            var (id, from) = await RunningGuestInPoolAsync("live", [.. uris.Keys], "traveller", dataDiskAndSeed: !sharedFolder);
            var to = uris.Keys.Single(c => c != from);
            var firstQemu = QemuPid(id);

            var migrating = Stopwatch.StartNew();
            var migration = await Rest.PostAsync("/api/v1/migrations/", new { source_pool = "live", source_cell = from, target_cell = to, instances = new[] { id } }, _zone.AdminSession);
            Assert.True(migration.ErrorCode == 0, migration.Text);
            RestAnswer status = null!;
            await WaitForAsync(async () => (status = await Rest.GetAsync($"/api/v1/migrations/{migration.Data!["id"]!.GetValue<string>()}", _zone.AdminSession)).Data!["finished"]!.GetValue<bool>());
            Assert.True(status.Data!["error"]!.GetValue<string>() == "", status.Text);
            output.WriteLine($"live migration ({(sharedFolder ? "shared folder" : "local storage, volumes copied")}): {migrating.ElapsedMilliseconds} ms");

            var guest = (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!;
            Assert.Equal((to, true), (guest["cell"]!.GetValue<string>(), guest["running"]!.GetValue<bool>()));
            using (var source = Connection.Open(uris[from]))
                Assert.Null(source.FindDomain(id)); // undefined there
            using (var target = Connection.Open(uris[to]))
            using (var domain = target.FindDomain(id)!)
            {
                Assert.Equal(new DomainOwner(id, to, 2, await ZoneIdAsync()), DomainOwner.Of(domain));
                Assert.Equal(DomainState.Running, domain.GetState());
                Assert.Contains(Path.Combine(Folder(to), $"{id}_sys.qcow2"), domain.GetXml()); // shared: the same volume, now opened by the target's qemu
                var port = domain.GetConsolePort();
                Assert.Equal($"127.0.0.1:{port}", guest["internal"]!["display_address"]!.GetValue<string>());
                Assert.Equal("RFB 003.008\n", await BannerAsync($"127.0.0.1:{port}"));
            }
            Assert.NotEqual(firstQemu, QemuPid(id)); // one qemu runs it: the target's
            if (!sharedFolder)
            {
                // Local storage: the volumes were built over the target's own cached image and filled by the migration; the source's are gone.
                Assert.Empty(Directory.GetFiles(Folder(from), $"{id}_*"));
                Assert.Equal(3, Directory.GetFiles(Folder(to), $"{id}_*").Length); // system, data volume, cloud-init seed
                var system = Path.Combine(Folder(to), $"{id}_sys.qcow2");
                Assert.StartsWith(Path.Combine(Folder(to), ".images"), QemuImgInfo(system)["full-backing-filename"]!.GetValue<string>());
                Assert.Equal(0, Run("qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -P 0x44 0 4M", system)); // the image's bytes through the new chain
            }

            await DeleteRunningGuestAsync(id, Folder(to));
        }
        finally
        {
            foreach (var agent in agents.Values)
                await agent.DisposeAsync();
        }
    }

    /// <summary>
    /// Adds the agents of <paramref name="cells"/> to <paramref name="pool"/>, then creates a running 64 MiB guest there
    /// over an uploaded disk image (with a data volume and a cloud-init seed on request); returns its id and the cell it runs on.
    /// </summary>
    private async Task<(string Id, string Cell)> RunningGuestInPoolAsync(string pool, IReadOnlyList<string> cells, string name, bool dataDiskAndSeed = false)
    {
        foreach (var cell in cells)
            await JoinPoolAsync(pool, cell);
        var image = await UploadBaseImageAsync($"{pool}-base", "0x44");
        var id = (await Rest.PostAsync("/api/v1/guests/", new
        {
            name, pool, template = "0qodbfbd15imbt3g0004", cores = 1, memory = 64 * MiB, from_image = image, auto_start = true,
            disks = dataDiskAndSeed ? new[] { 256 * MiB, 64 * MiB } : new[] { 256 * MiB }, modules = dataDiskAndSeed ? new[] { "cloud-init" } : [],
        }, _zone.AdminSession)).Data!["id"]!.GetValue<string>();
        // Running is reported (by the domain's start event) a moment before the creation's operation marks it created.
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data is System.Text.Json.Nodes.JsonObject g &&
            g["running"]?.GetValue<bool>() == true && g["created"]?.GetValue<bool>() == true);
        return (id, (await Rest.GetAsync($"/api/v1/guests/{id}", _zone.AdminSession)).Data!["cell"]!.GetValue<string>());
    }

    /// <summary>Powers the guest off and deletes it: none of its files may stay in <paramref name="folder"/>.</summary>
    private async Task DeleteRunningGuestAsync(string id, string folder)
    {
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, _zone.AdminSession)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, _zone.AdminSession)).ErrorCode);
        Assert.Empty(Directory.GetFiles(folder, $"{id}_*"));
    }

    /// <summary>Waits for the agent of <paramref name="cell"/> to join, adds it to <paramref name="pool"/> (its storage attached) and waits for its metrics.</summary>
    private async Task JoinPoolAsync(string pool, string cell)
    {
        await WaitForAsync(async () => (await Rest.GetAsync("/api/v1/compute_pool_cells/", _zone.AdminSession)).Data!.AsArray().Any(c => c!["name"]!.GetValue<string>() == cell));
        var added = await Rest.PostAsync($"/api/v1/compute_pool_cells/{pool}/{cell}", null, _zone.AdminSession);
        Assert.True(added.ErrorCode == 0, added.Text);
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/{pool}/{cell}", _zone.AdminSession)).Data!["available_memory"]!.GetValue<long>() > 0);
    }

    /// <summary>A 128 MiB qcow2 disk image with its first 4 MiB filled with <paramref name="pattern"/>, uploaded; returns its id.</summary>
    private async Task<string> UploadBaseImageAsync(string name, string pattern)
    {
        var basePath = Path.Combine(_work, $"{name}.qcow2");
        Run("qemu-img", "create", "-q", "-f", "qcow2", basePath, "128M");
        Run("qemu-io", "-f", "qcow2", "-c", $"write -P {pattern} 0 4M", basePath);
        var image = (await Rest.PostAsync("/api/v1/disk_images/", new { name }, _zone.AdminSession)).Data!["id"]!.GetValue<string>();
        Assert.Equal(0, (await UploadAsync($"/api/v1/disk_images/{image}/file/", basePath)).ErrorCode);
        return image;
    }

    private static string QemuPid(string guestId)
    {
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", ["-f", $"guest={guestId}"]) { RedirectStandardOutput = true })!;
        var pid = pgrep.StandardOutput.ReadToEnd().Trim();
        pgrep.WaitForExit();
        Assert.False(string.IsNullOrEmpty(pid), $"no qemu runs guest {guestId}");
        return pid;
    }

    /// <summary>The guest's nwfilter as "action protocol:port, ... | default", read back through the binding.</summary>
    private static string Firewall(Connection libvirt, string id)
    {
        using var filter = libvirt.FindNetworkFilter($"nano-{id}");
        Assert.NotNull(filter);
        var rules = System.Xml.Linq.XElement.Parse(filter!.GetXml()).Elements("rule")
            .Where(r => (string?)r.Attribute("direction") == "in")
            .OrderBy(r => (int)r.Attribute("priority")!)
            .Select(r => (Action: (string)r.Attribute("action")!, Match: r.Elements().Single()))
            .ToList();
        var ordered = rules.SkipLast(1).Select(r => $"{r.Action} {r.Match.Name.LocalName}:{(string?)r.Match.Attribute("dstportstart") ?? "0"}");
        Assert.Equal("all", rules[^1].Match.Name.LocalName);
        return $"{string.Join(", ", ordered)} | {rules[^1].Action}";
    }

    /// <summary>Kills this cell's agent, starts it again and waits until its cell is alive.</summary>
    private async Task RestartAgentAsync()
    {
        await _agent.KillAsync();
        await _agent.DisposeAsync();
        _agent = StartAgent();
        await WaitForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", _zone.AdminSession)).Data!["alive"]!.GetValue<bool>());
    }

    private static string Iptables(string chain)
    {
        using var process = Process.Start(new ProcessStartInfo("iptables", ["-S", chain]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var rules = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return rules;
    }

    private static string? LiveMedia(Connection libvirt, string id)
    {
        using var domain = libvirt.FindDomain(id)!;
        return DomainMedia.Inserted(domain.GetXml());
    }

    private async Task<List<Nano.Contracts.V1.Operation>> WatchOperationAsync(string target)
    {
        var operationId = (await Rest.GetAsync($"/api/v1/operations/?target={target}", _zone.AdminSession)).Data![0]!["id"]!.GetValue<string>();
        var operations = new Nano.Contracts.V1.OperationService.OperationServiceClient(_zone.Server.Channel);
        using var watch = operations.WatchOperation(new Nano.Contracts.V1.WatchOperationRequest { Id = operationId }, TestServer.Call(_zone.AdminSession));
        var seen = new List<Nano.Contracts.V1.Operation>();
        while (await watch.ResponseStream.MoveNext(CancellationToken.None))
            seen.Add(watch.ResponseStream.Current.Data);
        return seen;
    }

    private async Task<RestAnswer> UploadAsync(string path, string file)
    {
        var sha1 = Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(await File.ReadAllBytesAsync(file)));
        await using var stream = File.OpenRead(file);
        return await Rest.UploadAsync(path, stream, sha1, _zone.AdminSession);
    }

    private async Task DownloadAsync(string path, string file)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Nano-Session", _zone.AdminSession);
        using var response = await Rest.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        await using var target = File.Create(file);
        await response.Content.CopyToAsync(target);
    }

    private static int Run(string program, params string[] args)
    {
        Stdout(program, args);
        return 0;
    }

    /// <summary>What <paramref name="program"/> writes to its standard output; it must succeed.</summary>
    private static string Stdout(string program, params string[] args)
    {
        var (code, output, error) = Execute(program, args);
        Assert.True(code == 0, $"{program} {string.Join(' ', args)} failed ({code}): {error}");
        return output;
    }

    /// <summary>The exit code of <paramref name="program"/> run as <paramref name="user"/>.</summary>
    private static int RunAs(string user, string program, params string[] args) => Execute("runuser", ["-u", user, "--", program, .. args]).Code;

    private static (int Code, string Output, string Error) Execute(string program, string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error);
    }

    private static System.Text.Json.Nodes.JsonNode QemuImgInfo(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("qemu-img", ["info", "-U", "-f", "qcow2", "--output=json", path]) { RedirectStandardOutput = true })!;
        var json = System.Text.Json.Nodes.JsonNode.Parse(process.StandardOutput.ReadToEnd())!;
        process.WaitForExit();
        return json;
    }

    /// <summary>An agent named <paramref name="name"/> with its own folders; <paramref name="extra"/> options override the defaults.</summary>
    /// <summary>The zone's identity, which every domain its cells define carries.</summary>
    private async Task<string> ZoneIdAsync()
    {
        await using var db = new Npgsql.NpgsqlConnection(_zone.Server.Database);
        return (await Dapper.SqlMapper.ExecuteScalarAsync<Guid>(db, "SELECT id FROM zone_identity")).ToString();
    }

    private AgentProcess StartAgent(string? name = null, string folder = "", params string[] extra)
    {
        var cell = name ?? _cell;
        return AgentProcess.Start(["--server", _zone.Server.GrpcUrl, "--ca-file", _zone.Server.CaFile!, "--token", Token, "--name", cell,
            "--address", "127.0.0.1", "--libvirt-uri", "qemu:///system", "--bridge", _bridge, "--storage-path", Path.Combine(_work, $"images{folder}"),
            "--mount-root", Path.Combine(_work, $"mounts{folder}"), "--state-file", Path.Combine(_work, $"cell{folder}.json"), .. extra]);
    }

    /// <summary>
    /// RFB 3.8 with VNC authentication, as a viewer does it: the server's 16-byte challenge encrypted with DES under the
    /// password (8 bytes, zero-padded, each byte's bits reversed). Whether the server accepts.
    /// </summary>
    private static async Task<bool> VncAuthenticatesAsync(string endpoint, string password)
    {
        var (host, port) = (endpoint[..endpoint.LastIndexOf(':')], int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..]));
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(host, port, timeout.Token);
        var stream = client.GetStream();
        await stream.ReadExactlyAsync(new byte[12], timeout.Token);
        await stream.WriteAsync("RFB 003.008\n"u8.ToArray(), timeout.Token);
        var count = new byte[1];
        await stream.ReadExactlyAsync(count, timeout.Token);
        var types = new byte[count[0]];
        await stream.ReadExactlyAsync(types, timeout.Token);
        Assert.Contains((byte)2, types); // VNC authentication
        await stream.WriteAsync(new byte[] { 2 }, timeout.Token);
        var challenge = new byte[16];
        await stream.ReadExactlyAsync(challenge, timeout.Token);
        var key = new byte[8];
        var bytes = Encoding.ASCII.GetBytes(password);
        for (var i = 0; i < Math.Min(8, bytes.Length); i++)
            key[i] = (byte)(((bytes[i] * 0x0202020202UL) & 0x010884422010UL) % 1023); // the byte's bits reversed
#pragma warning disable CA5351 // the RFB protocol's VNC authentication is DES, and this test speaks it as a viewer
        using var des = System.Security.Cryptography.DES.Create();
#pragma warning restore CA5351
        des.Key = key;
        await stream.WriteAsync(des.EncryptEcb(challenge, System.Security.Cryptography.PaddingMode.None), timeout.Token);
        var result = new byte[4];
        await stream.ReadExactlyAsync(result, timeout.Token);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(result) == 0;
    }

    /// <summary>The first 12 bytes of a guest's console as a browser gets them: a one-shot channel (its password checked), then the WebSocket relay.</summary>
    private async Task<string> RelayedBannerAsync(string id, string secret)
    {
        var channel = await Rest.PostAsync("/api/v1/monitor_channels/", new { guest = id }, _zone.AdminSession);
        Assert.Equal(secret, channel.Data!["password"]!.GetValue<string>());
        return await ConsoleBanner.ReadAsync($"wss://127.0.0.1:{_zone.Server.RestPort}/api/v1/monitor_channels/{channel.Data!["id"]}", _zone.Server.CaFile);
    }

    private static async Task<string> BannerAsync(string endpoint)
    {
        var (host, port) = (endpoint[..endpoint.LastIndexOf(':')], int.Parse(endpoint[(endpoint.LastIndexOf(':') + 1)..]));
        using var client = new TcpClient();
        await client.ConnectAsync(host, port).WaitAsync(TimeSpan.FromSeconds(10));
        var buffer = new byte[12];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (read < buffer.Length)
            read += await client.GetStream().ReadAsync(buffer.AsMemory(read), timeout.Token);
        return Encoding.ASCII.GetString(buffer);
    }

    private static string QemuImgSnapshots(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("qemu-img", ["snapshot", "-U", "-l", path]) { RedirectStandardOutput = true })!;
        var listing = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return listing;
    }

    /// <summary>The pids of the qemu processes running the guest, on any libvirtd.</summary>
    private static string[] QemuPids(string guestId)
    {
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", ["-f", $"guest={guestId}"]) { RedirectStandardOutput = true })!;
        var pids = pgrep.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        pgrep.WaitForExit();
        return pids;
    }

    private static bool QemuRuns(string guestId)
    {
        using var pgrep = Process.Start(new ProcessStartInfo("pgrep", ["-f", $"guest={guestId}"]) { RedirectStandardOutput = true })!;
        pgrep.WaitForExit();
        return pgrep.ExitCode == 0;
    }

    private static long QemuImgVirtualSize(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("qemu-img", ["info", "-U", "-f", "qcow2", "--output=json", path]) { RedirectStandardOutput = true })!;
        var json = System.Text.Json.Nodes.JsonNode.Parse(process.StandardOutput.ReadToEnd())!;
        process.WaitForExit();
        return json["virtual-size"]!.GetValue<long>();
    }

    private static Task WaitForAsync(Func<Task<bool>> condition) => Wait.ForAsync(condition, Patience, TimeSpan.FromMilliseconds(250));
}
