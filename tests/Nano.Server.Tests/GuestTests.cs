using System.Net;
using Dapper;
using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>Guests #36-#38 and instances #57-#59 through a scripted cell on a real stream.</summary>
public sealed class GuestTests(ZoneServer fixture) : IClassFixture<ZoneServer>, IAsyncLifetime
{
    private const long MiB = 1L << 20;
    private const string General = "0qodbfbd15imbt3g0004";
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private TestAgent _agent = null!;

    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;
    private string Pool => $"pg_{_suffix}";

    public async Task InitializeAsync()
    {
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/address_pools/net_{_suffix}", new { gateway = "10.20.0.1", provider = "dhcp", dns = new[] { "10.20.0.2" } }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/address_pools/net_{_suffix}/internal/ranges/10.20.0.10", new { end = "10.20.0.12", netmask = "255.255.255.0" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/{Pool}", new { network = $"net_{_suffix}" }, Admin)).ErrorCode);
        _agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello($"cg_{_suffix}", cores: 8));
        _agent.Answer = Answer;
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/{Pool}/cg_{_suffix}", null, Admin)).ErrorCode);
        await _agent.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/{Pool}/cg_{_suffix}", Admin)).Data!["available_memory"]!.GetValue<long>() > 0);
    }

    public async Task DisposeAsync() => await _agent.DisposeAsync();

    [Fact]
    public async Task Create_Get_Start_Stop_Delete()
    {
        var created = await Rest.PostAsync("/api/v1/guests/", Body("web"), Admin);
        Assert.Equal(HttpStatusCode.Accepted, created.Status);
        var id = created.Data!["id"]!.GetValue<string>();
        var guest = await WaitCreatedAsync(id);

        Assert.Equal($"admin.web|admin|admin|{Pool}|cg_{_suffix}|127.0.0.1|1|{256 * MiB}|[{1024 * MiB},{512 * MiB}]|{1536 * MiB}|linux|{General}|vnc|high|false|false",
            $"{guest["name"]}|{guest["owner"]}|{guest["group"]}|{guest["pool"]}|{guest["cell"]}|{guest["host"]}|{guest["cores"]}|{guest["memory"]}|{guest["disks"]!.ToJsonString()}|{guest["total_disk"]}|{guest["system"]}|{guest["template"]}|{guest["display_protocol"]}|{guest["qos"]!["cpu_priority"]}|{guest["running"]!.ToJsonString()}|{guest["lost"]!.ToJsonString()}");
        Assert.Matches("^00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$", guest["ethernet_address"]!.GetValue<string>());
        Assert.Equal(8, guest["monitor_secret"]!.GetValue<string>().Length);
        Assert.Matches(@"^10\.20\.0\.1[0-2]/24$", guest["internal"]!["allocated_address"]!.GetValue<string>());
        Assert.Equal(0, guest["progress"]!.GetValue<int>());

        var create = _agent.Commands.Single(c => c.CreateInstance?.GuestId == id).CreateInstance;
        Assert.Equal(new Hardware { OperatingSystem = "linux", DiskBus = "sata", NicModel = "rtl8139", Display = "vga", Control = "vnc", Usb = "", Tablet = "usb" }, create.Hardware);
        Assert.Equal([1024 * MiB, 512 * MiB], create.Disks);
        Assert.Equal(guest["ethernet_address"]!.GetValue<string>(), create.Mac);

        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin));
        var status = await Rest.GetAsync($"/api/v1/instances/{id}", Admin);
        Assert.True(status.Data!["running"]!.GetValue<bool>());
        Assert.Equal("127.0.0.1:5901", status.Data!["internal"]!["display_address"]!.GetValue<string>());
        Assert.True(status.Data!.AsObject().ContainsKey("cpu_usage"));
        JsonAssert.Failure(412, await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin));
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/guests/{id}", new { force = false }, Admin));

        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin));
        Assert.False((await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["running"]!.GetValue<bool>());
        Assert.True(_agent.Commands.Single(c => c.StopInstance?.GuestId == id).StopInstance.Force);

        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin));
        Assert.Single(_agent.Commands, c => c.DeleteInstance?.GuestId == id);
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/guests/{id}", Admin));
        Assert.Equal(0, await AllocationsAsync(id));
    }

    [Fact]
    public async Task WhileTheCellWorks_TheGuestAnswers201_WithProgress()
    {
        var gate = new TaskCompletionSource();
        _agent.HoldAnswers(c => c.CreateInstance is not null, gate.Task, Answer);
        var id = (await Rest.PostAsync("/api/v1/guests/", Body("slow"), Admin)).Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["progress"]!.GetValue<int>() == 20);
        var pending = await Rest.GetAsync($"/api/v1/guests/{id}", Admin);
        Assert.Equal(HttpStatusCode.Created, pending.Status);
        Assert.False(pending.Data!["created"]!.GetValue<bool>());
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin));
        gate.SetResult();
        await WaitCreatedAsync(id);
    }

    [Fact]
    public async Task ACellThatFails_LeavesNothing_AndTheFailureIsToldOnce()
    {
        _agent.Answer = c => c.CreateInstance is not null ? new CommandResult { Id = c.Id, Error = "qemu-img failed: No space left on device" } : Answer(c);
        var id = (await Rest.PostAsync("/api/v1/guests/", Body("doomed"), Admin)).Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).ErrorCode != 201 && await GuestRowsAsync(id) == 0);

        Assert.Single(_agent.Commands, c => c.DeleteInstance?.GuestId == id);
        Assert.Equal(0, await AllocationsAsync(id));
        var operations = await Rest.GetAsync($"/api/v1/operations/?target={id}", Admin);
        Assert.Equal("failed", operations.Data![0]!["state"]!.GetValue<string>());
        Assert.Contains("No space left", operations.Data![0]!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ACellThatNeverAnswers_FailsTheOperation_AndFreesTheAddress()
    {
        _agent.Answer = c => c.CreateInstance is not null ? null : Answer(c);
        var id = (await Rest.PostAsync("/api/v1/guests/", Body("mute"), Admin)).Data!["id"]!.GetValue<string>();
        var failure = await WaitForFailureAsync(id);
        Assert.Contains("did not answer", failure.Message);
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/guests/{id}", Admin));
        Assert.Equal(0, await GuestRowsAsync(id));
        Assert.Equal(0, await AllocationsAsync(id));
    }

    [Theory]
    [InlineData("""{"name":"x1","pool":"no_such_pool","template":"0qodbfbd15imbt3g0004","cores":1,"memory":268435456,"disks":[1073741824]}""", 404)]
    [InlineData("""{"name":"x1","pool":"POOL","template":"0qodbfbd15imbt3g9999","cores":1,"memory":268435456,"disks":[1073741824]}""", 404)]
    [InlineData("""{"name":"bad name","pool":"POOL","template":"0qodbfbd15imbt3g0004","cores":1,"memory":268435456,"disks":[1073741824]}""", 400)]
    [InlineData("""{"name":"x1","pool":"POOL","template":"0qodbfbd15imbt3g0004","cores":0,"memory":268435456,"disks":[1073741824]}""", 400)]
    [InlineData("""{"name":"x1","pool":"POOL","template":"0qodbfbd15imbt3g0004","cores":1,"memory":268435456,"disks":[]}""", 400)]
    [InlineData("""{"name":"x1","pool":"POOL","template":"0qodbfbd15imbt3g0004","cores":1,"memory":268435456,"disks":[1073741824],"modules":["docker"]}""", 400)]
    [InlineData("""{"name":"x1","pool":"POOL","template":"0qodbfbd15imbt3g0004","cores":1,"memory":268435456,"disks":[1073741824],"qos":{"cpu_priority":"urgent"}}""", 400)]
    [InlineData("""{"name":"x1","pool":"POOL","template":"0qodbfbd15imbt3g0004","cores":64,"memory":268435456,"disks":[1073741824]}""", 412)]
    [InlineData("""{"name":"x1","pool":"POOL","template":"0qodbfbd15imbt3g0004","cores":1,"memory":268435456,"disks":[1073741824],"from_image":"abc"}""", 404)]
    public async Task BadRequests_CreateNothing(string body, int code)
    {
        var before = _agent.Commands.Count(c => c.CreateInstance is not null);
        JsonAssert.Failure(code, await Rest.PostAsync("/api/v1/guests/", body.Replace("POOL", Pool), Admin));
        Assert.Equal(before, _agent.Commands.Count(c => c.CreateInstance is not null));
        Assert.Equal(0, await GuestRowsAsync(null, "admin.x1"));
    }

    [Fact]
    public async Task APoolWithoutALiveCell_CreatesNothing()
    {
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/empty_{_suffix}", new { }, Admin)).ErrorCode);
        var refused = await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "nowhere", pool = $"empty_{_suffix}", template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB },
        }, Admin);
        JsonAssert.Failure(412, refused);
        Assert.Contains("no enabled cell that is alive", refused.Message);
        Assert.Equal(0, await GuestRowsAsync(null, "admin.nowhere"));
    }

    [Fact]
    public async Task Names_AreUniqueInAPool_AndAddressesRunOut()
    {
        var first = (await Rest.PostAsync("/api/v1/guests/", Body("twin"), Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(first);
        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/guests/", Body("twin"), Admin));
        var second = (await Rest.PostAsync("/api/v1/guests/", Body("second"), Admin)).Data!["id"]!.GetValue<string>();
        var third = (await Rest.PostAsync("/api/v1/guests/", Body("third"), Admin)).Data!["id"]!.GetValue<string>();
        var full = await Rest.PostAsync("/api/v1/guests/", Body("fourth"), Admin);
        JsonAssert.Failure(412, full);
        Assert.Contains("no free address", full.Message);
        foreach (var id in new[] { first, second, third })
        {
            await WaitCreatedAsync(id);
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
        }
    }

    [Fact]
    public async Task Modifications_RedefineTheDomainFromTheRow_AndARefusalChangesNothing()
    {
        var id = (await Rest.PostAsync("/api/v1/guests/", Body("tuned"), Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 2, immediate = true }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/memory", new { memory = 512 * MiB }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/auto_start", new { enable = true }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/qos/cpu/", new { priority = "low" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/qos/disk", new { read_speed = 1000, write_iops = 50 }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/qos/network/", new { receive_speed = 2048, send_speed = 1024 }, Admin));
        var before = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["monitor_secret"]!.GetValue<string>();
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/monitor/secret", null, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/name/", new { name = "renamed" }, Admin));

        var guest = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!;
        var secret = guest["monitor_secret"]!.GetValue<string>();
        Assert.Equal(12, secret.Length);
        Assert.NotEqual(before, secret);
        Assert.Equal($"renamed|2|{512 * MiB}|true|low|1000|0|0|50|2048|1024",
            $"{guest["name"]}|{guest["cores"]}|{guest["memory"]}|{guest["auto_start"]!.ToJsonString()}|{guest["qos"]!["cpu_priority"]}|{guest["qos"]!["read_speed"]}|{guest["qos"]!["write_speed"]}|{guest["qos"]!["read_iops"]}|{guest["qos"]!["write_iops"]}|{guest["qos"]!["receive_speed"]}|{guest["qos"]!["send_speed"]}");
        var last = _agent.Commands.Last(c => c.RedefineInstance?.Settings.GuestId == id).RedefineInstance.Settings;
        Assert.Equal((2, 512 * MiB, true, "low", 1000L, 50L, 2048L, secret), (last.Cores, last.Memory, last.AutoStart, last.Qos.CpuPriority, last.Qos.ReadSpeed, last.Qos.WriteIops, last.Qos.ReceiveSpeed, last.MonitorSecret));
        Assert.Equal(7, _agent.Commands.Count(c => c.RedefineInstance?.Settings.GuestId == id));

        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 2 }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 0 }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/qos/cpu", new { priority = "urgent" }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync($"/api/v1/guests/{id}/name", new { name = "bad name" }, Admin));

        _agent.Answer = c => c.RedefineInstance is not null ? new CommandResult { Id = c.Id, Error = "virDomainDefineXML: no" } : Answer(c);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 4 }, Admin));
        Assert.Equal(2, (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cores"]!.GetValue<int>());
        _agent.Answer = Answer;

        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/qos/disk", new { read_speed = 1 }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/name", new { name = "again" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/cores", new { cores = 1 }, Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin));
    }

    [Fact]
    public async Task SystemReset_AndStoredCredentials()
    {
        var id = (await Rest.PostAsync("/api/v1/guests/", Body("reset"), Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);
        var auth = await Rest.GetAsync($"/api/v1/guests/{id}/auth", Admin);
        Assert.Equal("root", auth.Data!["user"]!.GetValue<string>());
        Assert.Equal(10, auth.Data!["password"]!.GetValue<string>().Length);

        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { }, Admin));
        Assert.Equal(1024 * MiB, _agent.Commands.Single(c => c.ResetSystem?.GuestId == id).ResetSystem.Size);
        Assert.True((await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["created"]!.GetValue<bool>());
        var operations = await Rest.GetAsync($"/api/v1/operations/?target={id}", Admin);
        Assert.Equal("reset_system:succeeded", $"{operations.Data![0]!["kind"]}:{operations.Data![0]!["state"]}");
        JsonAssert.Failure(404, await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { from_image = "img" }, Admin));

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { }, Admin));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }

    [Fact]
    public async Task ReportsOfAGuestWhoseChangeWaitsForItsCell_DoNotHoldUpTheCellsAnswer()
    {
        var id = (await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "busy-row", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB }, modules = new[] { "qemu" },
        }, Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);

        // The password change holds the guest's row until the cell answers; meanwhile the cell reports on that guest.
        var gate = new TaskCompletionSource();
        _agent.HoldAnswers(c => c.SetGuestPassword is not null, gate.Task, Answer);
        var change = Rest.PutAsync($"/api/v1/guests/{id}/auth", new { password = "Busy-pass1" }, Admin);
        await Wait.ForAsync(() => Task.FromResult(_agent.Commands.Any(c => c.SetGuestPassword?.GuestId == id)));
        await _agent.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, Guests = { new GuestMetrics { GuestId = id, CpuUsage = 5 } } });
        await _agent.SendAsync(new ConnectRequest { DomainEvent = new DomainEvent { GuestId = id, Kind = DomainEventKind.Resumed } });
        gate.SetResult();

        JsonAssert.Success("""{"user":"root","password":"Busy-pass1"}""", await change); // not 503: the answer was read behind the reports
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }

    [Fact]
    public async Task Auth_IsSetThroughTheGuestAgent_AndStored()
    {
        var plain = (await Rest.PostAsync("/api/v1/guests/", Body("no-agent"), Admin)).Data!["id"]!.GetValue<string>();
        var agent = (await Rest.PostAsync("/api/v1/guests/", new
        {
            name = "with-agent", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB }, modules = new[] { "qemu" },
        }, Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(plain);
        await WaitCreatedAsync(agent);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{agent}/auth", new { password = "N3w-pass" }, Admin));
        foreach (var id in new[] { plain, agent })
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{plain}/auth", new { password = "N3w-pass" }, Admin));

        JsonAssert.Success("""{"user":"root","password":"N3w-pass"}""", await Rest.PutAsync($"/api/v1/guests/{agent}/auth", new { password = "N3w-pass" }, Admin));
        JsonAssert.Success("""{"user":"root","password":"N3w-pass"}""", await Rest.GetAsync($"/api/v1/guests/{agent}/auth", Admin));
        Assert.Equal(new SetGuestPassword { GuestId = agent, User = "root", Password = "N3w-pass" }, _agent.Commands.Last(c => c.SetGuestPassword is not null).SetGuestPassword);

        _agent.Answer = c => c.SetGuestPassword is not null ? new CommandResult { Id = c.Id, Error = "QEMU guest agent is not connected" } : Answer(c);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{agent}/auth", new { user = "ops", password = "Other-pass" }, Admin));
        JsonAssert.Success("""{"user":"root","password":"N3w-pass"}""", await Rest.GetAsync($"/api/v1/guests/{agent}/auth", Admin));
        _agent.Answer = Answer;
        foreach (var id in new[] { plain, agent })
        {
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
        }
    }

    [Fact]
    public async Task Searches_ListWhatTheCallerMaySee()
    {
        var web = (await Rest.PostAsync("/api/v1/guests/", Body("find-web"), Admin)).Data!["id"]!.GetValue<string>();
        var db = (await Rest.PostAsync("/api/v1/guests/", Body("find-db"), Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(web);
        await WaitCreatedAsync(db);
        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{web}", new { }, Admin));

        var all = await Rest.GetAsync($"/api/v1/guest_search/?pool={Pool}", Admin);
        Assert.Equal(["admin.find-db", "admin.find-web"], all.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()).Where(n => n.StartsWith("admin.find")));
        var running = await Rest.GetAsync($"/api/v1/guest_search/?pool={Pool}&status=1", Admin);
        Assert.Equal(["admin.find-web"], running.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()).Where(n => n.StartsWith("admin.find")));
        var stopped = await Rest.GetAsync($"/api/v1/guest_search/?cell=cg_{_suffix}&status=0", Admin);
        Assert.Contains("admin.find-db", stopped.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()));
        Assert.DoesNotContain("admin.find-web", stopped.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()));
        Assert.Equal("", all.Data![0]!["monitor_secret"]!.GetValue<string>());
        JsonAssert.Failure(400, await Rest.GetAsync("/api/v1/guest_search/", Admin));

        var page = await Rest.PostAsync("/search/guests".Insert(0, "/api/v1"), new { keyword = "find-", pool = Pool, limit = 1, offset = 1 }, Admin);
        Assert.Equal(2, page.Data!["total"]!.GetValue<int>());
        Assert.Equal("admin.find-web", page.Data!["result"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(1, page.Data!["limit"]!.GetValue<int>());
        var byAddress = await Rest.PostAsync("/api/v1/search/guests/", new { keyword = "10.20.0." }, Admin);
        Assert.True(byAddress.Data!["total"]!.GetValue<int>() >= 2);
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/search/guests/", new { keyword = "find-", offset = 5 }, Admin));

        var other = await fixture.UserWithMenusAsync($"seek{_suffix}", "instance");
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/search/guests/", new { keyword = "find-" }, other)).Data!["total"]!.GetValue<int>());
        JsonAssert.Success("[]", await Rest.GetAsync($"/api/v1/guest_search/?pool={Pool}", other));

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{web}", new { force = true }, Admin)).ErrorCode);
        foreach (var id in new[] { web, db })
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }

    [Fact]
    public async Task OthersGuests_AreInvisible_WithoutGroupVisibility()
    {
        var id = (await Rest.PostAsync("/api/v1/guests/", Body("private"), Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);
        var other = await fixture.UserWithMenusAsync($"peer{_suffix}", "instance");
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/guests/{id}", other));
        JsonAssert.Failure(404, await Rest.DeleteAsync($"/api/v1/guests/{id}", null, other));
        JsonAssert.Failure(404, await Rest.PostAsync($"/api/v1/instances/{id}", new { }, other));
        Assert.Equal(1, await GuestRowsAsync(id));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }

    [Fact]
    public async Task FromImage_TheCellGetsTheImageVersion_AndTheImageCannotBeDeletedWhileAGuestUsesIt()
    {
        var image = await ImageWithContentAsync("disk_images", $"sys-{_suffix}", ImageTests.Qcow2(1 << 20));
        var detail = (await Rest.GetAsync($"/api/v1/disk_images/{image}", Admin)).Data!;
        var body = new { name = "cow", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB }, from_image = image };
        var id = (await Rest.PostAsync("/api/v1/guests/", body, Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);

        var create = _agent.Commands.Single(c => c.CreateInstance?.GuestId == id).CreateInstance;
        Assert.Equal($"{image}|{detail["size"]}", $"{create.SystemImage.Id}|{create.SystemImage.Size}");
        Assert.Matches("^[0-9a-f]{64}$", create.SystemImage.Sha256);
        var inUse = await Rest.DeleteAsync($"/api/v1/disk_images/{image}", null, Admin);
        JsonAssert.Failure(412, inUse);
        Assert.Contains("in use", inUse.Message);

        // Reset from another image: the cell gets it, and the first image is free again once nothing uses it.
        var other = await ImageWithContentAsync("disk_images", $"other-{_suffix}", ImageTests.Qcow2(1 << 20));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { from_image = other }, Admin));
        Assert.Equal(other, _agent.Commands.Single(c => c.ResetSystem?.GuestId == id).ResetSystem.Image.Id);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/disk_images/{image}", null, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/disk_images/{other}", null, Admin));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/disk_images/{other}", null, Admin)).ErrorCode);

        var empty = (await Rest.PostAsync("/api/v1/disk_images/", new { name = $"empty-{_suffix}" }, Admin)).Data!["id"]!.GetValue<string>();
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/guests/", body with { from_image = empty }, Admin)); // no content yet
    }

    [Fact]
    public async Task Media_BootInsertEject_FollowTheGuest()
    {
        var iso = await ImageWithContentAsync("media_images", $"boot-{_suffix}.iso", ImageTests.RandomBytes(4096));
        var id = (await Rest.PostAsync("/api/v1/guests/", Body("media"), Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);
        JsonAssert.Failure(412, await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso }, Admin)); // stopped
        JsonAssert.Failure(400, await Rest.PostAsync($"/api/v1/instances/{id}", new { from_media = true }, Admin)); // no source

        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{id}", new { from_media = true, source = iso }, Admin));
        Assert.Equal(iso, _agent.Commands.Last(c => c.StartInstance?.GuestId == id).StartInstance.Media.Id);
        Assert.Equal($"true|{iso}", await MediaAsync(id));
        JsonAssert.Failure(412, await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso }, Admin)); // already inserted
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/media_images/{iso}", null, Admin)); // in the drive

        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/instances/{id}/media", null, Admin));
        Assert.Equal("false|", await MediaAsync(id));
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/instances/{id}/media", null, Admin)); // nothing to eject
        JsonAssert.Failure(400, await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso, type = 1 }, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso }, Admin));
        Assert.Equal(iso, _agent.Commands.Last(c => c.InsertMedia?.GuestId == id).InsertMedia.Image.Id);
        Assert.Equal($"true|{iso}", await MediaAsync(id));

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        Assert.Equal("false|", await MediaAsync(id)); // stopping empties the drive
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/media_images/{iso}", null, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }

    [Fact]
    public async Task SecurityPolicy_IsCopiedFromItsGroup_AndEachChangeIsAppliedByTheCellFirst()
    {
        var group = (await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"fw_{_suffix}", enabled = true, default_action = "reject" }, Admin)).Data!["id"]!.GetValue<string>();
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/security_policy_groups/{group}/rules/", new { protocol = "tcp", to_port = 22 }, Admin)).ErrorCode);
        var body = new { name = "fw", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB }, security_policy_group = group };
        var created = await Rest.PostAsync("/api/v1/guests/", body, Admin);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();
        var guest = await WaitCreatedAsync(id);
        Assert.Equal(group, guest["security_policy_group"]!.GetValue<string>());
        var sent = _agent.Commands.Single(c => c.CreateInstance?.GuestId == id).CreateInstance.SecurityPolicy;
        Assert.Equal("reject|tcp:22", $"{sent.DefaultAction}|{string.Join(',', sent.Rules.Select(r => $"{r.Protocol}:{r.ToPort}"))}");

        // The group's later changes do not reach the guest's copy.
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/security_policy_groups/{group}/rules/", new { protocol = "icmp" }, Admin)).ErrorCode);
        var policy = $"/api/v1/guests/{id}/security_policy";
        Assert.Equal("""{"default_action":"reject","rules":[{"action":"accept","protocol":"tcp","from_address":"","to_address":"","to_port":22,"interface":0}]}""",
            (await Rest.GetAsync(policy, Admin)).Data!.ToJsonString());

        JsonAssert.Success("\"\"", await Rest.PostAsync($"{policy}/rules/", new { protocol = "tcp", to_port = 80, to_address = "10.0.0.5" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"{policy}/rules/1/order", new { direction = "up" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/security_policy/rules/0?guest={id}", new { action = "reject", protocol = "tcp", to_port = 80 }, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/guests/security_policy/rules/0/order", new { guest = id, direction = "down" }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync("/api/v1/guests/security_policy/rules/0/order", new { direction = "down" }, Admin)); // which guest?
        JsonAssert.Success("\"\"", await Rest.PutAsync($"{policy}/default_action", new { action = "accept" }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"{policy}/default_action", new { action = "accept" }, Admin));
        var applied = _agent.Commands.Last(c => c.ApplySecurityPolicy?.GuestId == id).ApplySecurityPolicy.Policy;
        Assert.Equal("accept|tcp:22:accept,tcp:80:reject", $"{applied.DefaultAction}|{string.Join(',', applied.Rules.Select(r => $"{r.Protocol}:{r.ToPort}:{r.Action}"))}");
        Assert.Equal(5, _agent.Commands.Count(c => c.ApplySecurityPolicy?.GuestId == id));

        // A cell that refuses leaves the stored policy as it was.
        _agent.Answer = c => c.ApplySecurityPolicy is not null ? new CommandResult { Id = c.Id, Error = "nwfilter: iptables failed" } : Answer(c);
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/guests/security_policy/rules/0?guest={id}", null, Admin));
        Assert.Equal(2, (await Rest.GetAsync(policy, Admin)).Data!["rules"]!.AsArray().Count);
        _agent.Answer = Answer;
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/guests/{id}/security_policy/rules/0", null, Admin));
        Assert.Equal("tcp:80", string.Join(',', (await Rest.GetAsync(policy, Admin)).Data!["rules"]!.AsArray().Select(r => $"{r!["protocol"]}:{r["to_port"]}")));

        // A guest created without a group accepts everything, with no rules; a disabled group is refused.
        var plain = (await Rest.PostAsync("/api/v1/guests/", body with { name = "plain", security_policy_group = "" }, Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(plain);
        Assert.Equal("""{"default_action":"accept","rules":[]}""", (await Rest.GetAsync($"/api/v1/guests/{plain}/security_policy", Admin)).Data!.ToJsonString());
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/security_policy_groups/{group}", new { name = $"fw_{_suffix}", enabled = false, default_action = "reject" }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/guests/", body with { name = "off" }, Admin));
    }

    [Fact]
    public async Task Batches_CreateStopAndDelete_WithPerGuestStatus()
    {
        var taken = (await Rest.PostAsync("/api/v1/guests/", Body($"b{_suffix}_1"), Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(taken);
        var request = new
        {
            name_rule = "order", name_prefix = $"b{_suffix}", count = 3, pool = Pool, template = General, cores = 1, memory = 256 * MiB,
            disks = new[] { 1024 * MiB },
        };
        var started = await Rest.PostAsync("/api/v1/batch/create_guest/", request, Admin);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, started.Status);
        var batch = started.Data!["id"]!.GetValue<string>();
        var items = await WaitBatchAsync("create_guest", batch);
        Assert.True(items[2]!["status"]!.GetValue<string>() == "created", items[2]!.ToJsonString());
        Assert.Contains("already has a guest", items[1]!["error"]!.GetValue<string>()); // one failure stops no other
        Assert.All(items.Where(i => i!["status"]!.GetValue<string>() == "created"), i => Assert.Equal(100, i!["progress"]!.GetValue<int>()));
        var ids = items.Where(i => i!["status"]!.GetValue<string>() == "created").Select(i => i!["id"]!.GetValue<string>()).ToList();
        Assert.All(ids, id => Assert.True(Guid.TryParse(id, out _)));
        var operation = (await Rest.GetAsync($"/api/v1/operations/{batch}", Admin)).Data!;
        Assert.Equal("batch_create_guest|succeeded|100", $"{operation["kind"]}|{operation["state"]}|{operation["percent"]}");

        Assert.Equal(2, ids.Count);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{ids[0]}", new { }, Admin)).ErrorCode);
        var stop = await Rest.PostAsync("/api/v1/batch/stop_guest/", new { guests = new[] { ids[0], ids[1] }, force = true }, Admin);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, stop.Status);
        var stopped = await WaitBatchAsync("stop_guest", stop.Data!["id"]!.GetValue<string>());
        Assert.Equal("stopped,fail", string.Join(',', stopped.Select(i => i!["status"]!.GetValue<string>())));
        Assert.Contains("not running", stopped[1]!["error"]!.GetValue<string>());

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{ids[1]}", new { }, Admin)).ErrorCode);
        var delete = await Rest.PostAsync("/api/v1/batch/delete_guest/", new { guest = ids }, Admin);
        var deleted = await WaitBatchAsync("delete_guest", delete.Data!["id"]!.GetValue<string>());
        Assert.Equal("deleted,fail", string.Join(',', deleted.Select(i => i!["status"]!.GetValue<string>())));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/guests/{ids[0]}", Admin));
        Assert.Equal(0, (await Rest.GetAsync($"/api/v1/guests/{ids[1]}", Admin)).ErrorCode);

        // Bad requests start nothing.
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/batch/create_guest/", request with { count = 0 }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/batch/create_guest/", request with { name_rule = "MAC" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/batch/create_guest/", request with { name_prefix = "bad prefix" }, Admin));
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/batch/delete_guest/", new { guest = new[] { ids[1], Guid.NewGuid().ToString() } }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/batch/stop_guest/", new { guest = Array.Empty<string>() }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/batch/stop_guest/{batch}", Admin)); // a creation batch, not a stop one
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/batch/create_guest/{Guid.NewGuid()}", Admin));
    }

    private async Task<System.Text.Json.Nodes.JsonArray> WaitBatchAsync(string kind, string id)
    {
        RestAnswer answer = null!;
        await Wait.ForAsync(async () =>
        {
            answer = await Rest.GetAsync($"/api/v1/batch/{kind}/{id}", Admin);
            return answer.Status == System.Net.HttpStatusCode.OK;
        });
        Assert.Equal(0, answer.ErrorCode);
        return answer.Data!.AsArray();
    }

    private async Task<string> MediaAsync(string id)
    {
        var status = (await Rest.GetAsync($"/api/v1/instances/{id}", Admin)).Data!;
        return $"{status["media_attached"]!.ToJsonString()}|{status["media_source"]?.GetValue<string>()}";
    }

    private async Task<string> ImageWithContentAsync(string area, string name, byte[] content)
    {
        var id = (await Rest.PostAsync($"/api/v1/{area}/", new { name }, Admin)).Data!["id"]!.GetValue<string>();
        Assert.Equal(0, (await Rest.UploadAsync($"/api/v1/{area}/{id}/file", new MemoryStream(content), null, Admin)).ErrorCode);
        return id;
    }

    private object Body(string name) => new
    {
        name, pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB, 512 * MiB }, modules = new[] { "cloud-init" },
    };

    private CommandResult Answer(Command c) => c.BodyCase switch
    {
        Command.BodyOneofCase.CreateInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.CreateInstance.GuestId, State = DomainState.Stopped } },
        Command.BodyOneofCase.StartInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.StartInstance.GuestId, State = DomainState.Running, DisplayAddress = "127.0.0.1:5901" } },
        Command.BodyOneofCase.StopInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.StopInstance.GuestId, State = DomainState.Stopped } },
        Command.BodyOneofCase.DeleteInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.DeleteInstance.GuestId } },
        Command.BodyOneofCase.ResetSystem => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.ResetSystem.GuestId, State = DomainState.Stopped } },
        Command.BodyOneofCase.InsertMedia => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.InsertMedia.GuestId, State = DomainState.Running } },
        Command.BodyOneofCase.EjectMedia => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.EjectMedia.GuestId, State = DomainState.Running } },
        Command.BodyOneofCase.ApplySecurityPolicy => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.ApplySecurityPolicy.GuestId } },
        Command.BodyOneofCase.RedefineInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.RedefineInstance.Settings.GuestId, State = DomainState.Stopped } },
        _ => new CommandResult { Id = c.Id, Storage = TestAgent.LocalStorage("/var/lib/nano/images") },
    };

    private async Task<System.Text.Json.Nodes.JsonNode> WaitCreatedAsync(string id)
    {
        RestAnswer answer = null!;
        await Wait.ForAsync(async () =>
        {
            answer = await Rest.GetAsync($"/api/v1/guests/{id}", Admin);
            return answer.ErrorCode == 0 && answer.Data!["created"]!.GetValue<bool>();
        });
        Assert.Equal(HttpStatusCode.OK, answer.Status);
        return answer.Data!;
    }

    private async Task<RestAnswer> WaitForFailureAsync(string id)
    {
        RestAnswer answer = null!;
        await Wait.ForAsync(async () =>
        {
            answer = await Rest.GetAsync($"/api/v1/guests/{id}", Admin);
            return answer.ErrorCode != 0;
        });
        JsonAssert.Failure(412, answer);
        return answer;
    }

    private async Task<int> GuestRowsAsync(string? id, string? name = null)
    {
        await using var db = new NpgsqlConnection(fixture.Server.Database);
        return await db.ExecuteScalarAsync<int>("SELECT count(*) FROM guests WHERE id::text = @id OR name = @name", new { id, name });
    }

    private async Task<int> AllocationsAsync(string id)
    {
        await using var db = new NpgsqlConnection(fixture.Server.Database);
        return await db.ExecuteScalarAsync<int>("SELECT count(*) FROM address_allocations WHERE instance = @id", new { id });
    }
}
