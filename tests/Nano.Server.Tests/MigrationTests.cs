using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Migrations #96-#98 between two scripted cells of a pool on shared storage: only the definition moves.</summary>
public sealed class MigrationTests(ZoneServer fixture) : IClassFixture<ZoneServer>, IAsyncLifetime
{
    private const long MiB = 1L << 20;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private TestAgent _a = null!;
    private TestAgent _b = null!;

    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;
    private string Pool => $"pm_{_suffix}";
    private string CellA => $"ma_{_suffix}";
    private string CellB => $"mb_{_suffix}";

    public async Task InitializeAsync()
    {
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/storage_pools/s_{_suffix}", new { type = "nfs", host = "127.0.0.1", target = "/export" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/{Pool}", new { storage = $"s_{_suffix}" }, Admin)).ErrorCode);
        _a = await JoinAsync(CellA);
        _b = await JoinAsync(CellB);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    [Fact]
    public async Task StoppedGuests_MoveTheirDefinition_AndAFailedImportGoesBack()
    {
        var first = await GuestOnAsync("one");
        var second = await GuestOnAsync("two");
        var started = await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB }, Admin);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, started.Status);
        var done = await WaitAsync(started.Data!["id"]!.GetValue<string>());
        Assert.Equal("""{"finished":true,"progress":100,"error":""}""", done.Data!.ToJsonString());
        foreach (var id in new[] { first, second })
        {
            Assert.Equal(CellB, (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>());
            Assert.False(_a.Commands.Single(c => c.ReleaseInstance?.GuestId == id).ReleaseInstance.DeleteFiles); // shared storage: files stay
            var import = _b.Commands.Single(c => c.ImportInstance?.Settings.GuestId == id).ImportInstance;
            Assert.Empty(import.Files);
            Assert.Equal("accept", import.Settings.SecurityPolicy.DefaultAction);
        }

        // The target refuses: the guest is defined on its source again and stays there.
        _a.Answer = c => c.ImportInstance is not null ? new CommandResult { Id = c.Id, Error = "libvirt: no space" } : Answer(c);
        var back = await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellB, target_cell = CellA, instances = new[] { first } }, Admin);
        var failed = await WaitAsync(back.Data!["id"]!.GetValue<string>());
        Assert.Contains("libvirt: no space", failed.Data!["error"]!.GetValue<string>());
        Assert.Equal(CellB, (await Rest.GetAsync($"/api/v1/guests/{first}", Admin)).Data!["cell"]!.GetValue<string>());
        Assert.Equal(2, _b.Commands.Count(c => c.ImportInstance?.Settings.GuestId == first)); // moved in, then taken back
        // Returned once finished, a migration is forgotten (api-decisions.md 4.10).
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/migrations/{back.Data!["id"]!.GetValue<string>()}", Admin));
        Assert.DoesNotContain(back.Data!["id"]!.GetValue<string>(), (await Rest.GetAsync("/api/v1/migrations/", Admin)).Text);

        // One nobody has read yet is listed once, then forgotten as well.
        _a.Answer = Answer;
        var again = (await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellB, target_cell = CellA, instances = new[] { second } }, Admin))
            .Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{second}", Admin)).Data!["cell"]!.GetValue<string>() == CellA);
        await Wait.ForAsync(async () => (await Rest.GetAsync("/api/v1/migrations/", Admin)).Data!.AsArray()
            .Any(m => m!["id"]!.GetValue<string>() == again && m["finished"]!.GetValue<bool>()));
        Assert.DoesNotContain(again, (await Rest.GetAsync("/api/v1/migrations/", Admin)).Text);
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/migrations/{again}", Admin));
    }

    [Fact]
    public async Task AGuestBeingMigrated_RefusesOtherWork()
    {
        var id = await GuestOnAsync("busy");
        var gate = new TaskCompletionSource();
        _b.HoldAnswers(c => c.ImportInstance is not null, gate.Task, Answer);
        var started = await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB }, Admin);
        await Wait.ForAsync(() => Task.FromResult(_b.Commands.Any(c => c.ImportInstance?.Settings.GuestId == id)));
        var refused = await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin);
        JsonAssert.Failure(412, refused);
        Assert.Contains("being migrated", refused.Message);
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB, instances = new[] { id } }, Admin));
        gate.SetResult();
        Assert.Equal("", (await WaitAsync(started.Data!["id"]!.GetValue<string>())).Data!["error"]!.GetValue<string>());
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
    }

    [Fact]
    public async Task ARunningGuest_MovesLive_OnlyBetweenCellsThatAnnounceAMigrationUri()
    {
        var id = await GuestOnAsync("live");
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        var migrate = new { source_pool = Pool, source_cell = CellA, target_cell = CellB, instances = new[] { id } };
        var refused = await Rest.PostAsync("/api/v1/migrations/", migrate, Admin);
        JsonAssert.Failure(412, refused);
        Assert.Contains("--migration-uri", refused.Message);

        _a = await RejoinAsync(_a, CellA, "qemu+tcp://10.0.0.1/system", new DomainReport { GuestId = id, Uuid = id, Name = id, State = DomainState.Running, Generation = 1 });
        _b = await RejoinAsync(_b, CellB, "qemu+tcp://10.0.0.2/system");
        _b.Answer = c => c.ImportInstance is not null
            ? new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = id, State = DomainState.Running, DisplayAddress = "10.0.0.2:5901" } }
            : Answer(c);
        var done = await WaitAsync((await Rest.PostAsync("/api/v1/migrations/", migrate, Admin)).Data!["id"]!.GetValue<string>());
        Assert.Equal("", done.Data!["error"]!.GetValue<string>());

        var import = _b.Commands.Single(c => c.ImportInstance?.Settings.GuestId == id).ImportInstance;
        Assert.Equal(new LiveSource { Uri = "qemu+tcp://10.0.0.1/system", Cell = CellA }, import.Live);
        Assert.Equal(2, import.Settings.Generation);
        Assert.DoesNotContain(_a.Commands, c => c.StopInstance?.GuestId == id); // never stopped
        Assert.False(_a.Commands.Single(c => c.ReleaseInstance?.GuestId == id).ReleaseInstance.DeleteFiles); // its firewall goes, files stay
        var guest = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!;
        Assert.Equal((CellB, true, "10.0.0.2:5901"), (guest["cell"]!.GetValue<string>(), guest["running"]!.GetValue<bool>(), guest["internal"]!["display_address"]!.GetValue<string>()));

        // A failed live migration leaves the guest running where it was.
        _a.Answer = c => c.ImportInstance is not null ? new CommandResult { Id = c.Id, Error = "migrate: unable to connect" } : Answer(c);
        var failed = await WaitAsync((await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellB, target_cell = CellA }, Admin)).Data!["id"]!.GetValue<string>());
        Assert.Contains("unable to connect", failed.Data!["error"]!.GetValue<string>());
        guest = (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!;
        Assert.Equal((CellB, true), (guest["cell"]!.GetValue<string>(), guest["running"]!.GetValue<bool>()));
        Assert.DoesNotContain(_b.Commands, c => c.ReleaseInstance is not null || c.StopInstance is not null);
    }

    private async Task<TestAgent> RejoinAsync(TestAgent agent, string cell, string migrationUri, params DomainReport[] domains)
    {
        await agent.DisposeAsync();
        var hello = TestAgent.Hello(cell, cores: 8);
        hello.MigrationUri = migrationUri;
        hello.Address = new Uri(migrationUri).Host; // a migration URI is believed on the cell's own address only
        hello.Domains.AddRange(domains);
        var rejoined = await TestAgent.ConnectAsync(fixture.Server.Channel, hello);
        rejoined.Answer = Answer;
        await rejoined.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        return rejoined;
    }

    [Fact]
    public async Task ALostCellOfAFailoverPool_HasItsGuestStartedElsewhere_AndItsStaleCopyFenced()
    {
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/compute_pools/{Pool}", new { storage = $"s_{_suffix}", failover = true }, Admin)).ErrorCode);
        var id = await GuestOnAsync("ha");
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);

        var alive = _b.KeepAlive();
        await _a.DisposeAsync(); // the agent dies with its stream
        try
        {
            await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>() == CellB);
        }
        catch (Xunit.Sdk.TrueException)
        {
            // Seen once in a full run, never alone: what the zone looked like when the failover had not happened.
            Assert.Fail($"no failover within 30 s; guest: {(await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Text}; " +
                $"cells: {(await Rest.GetAsync($"/api/v1/compute_pool_cells/{Pool}", Admin)).Text}; " +
                $"operations: {(await Rest.GetAsync($"/api/v1/operations/?target={id}", Admin)).Text}");
        }
        var import = _b.Commands.Single(c => c.ImportInstance?.Settings.GuestId == id).ImportInstance;
        Assert.Equal(CellA, import.TakeOverFrom);
        Assert.Empty(import.Files); // shared storage: only the definition
        Assert.Equal(2, import.Settings.Generation);
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["running"]!.GetValue<bool>());
        Assert.Equal(2, _b.Commands.Single(c => c.StartInstance?.GuestId == id).StartInstance.Generation);
        var cellA = (await Rest.GetAsync($"/api/v1/compute_pool_cells/{Pool}", Admin)).Data!.AsArray().Single(c => c!["name"]!.GetValue<string>() == CellA)!;
        Assert.False(cellA["enabled"]!.GetValue<bool>()); // disabled until an administrator enables it again
        Assert.DoesNotContain(id, (await Rest.GetAsync("/api/v1/migrations/", Admin)).Text); // failover is no migration record

        // The lost cell returns with its copy still running: it is powered off and forgotten, its files kept (shared storage).
        var hello = TestAgent.Hello(CellA, cores: 8);
        hello.Domains.Add(new DomainReport { GuestId = id, Uuid = id, Name = id, State = DomainState.Running, Generation = 1 });
        _a = await TestAgent.ConnectAsync(fixture.Server.Channel, hello);
        _a.Answer = Answer;
        await Wait.ForAsync(() => Task.FromResult(_a.Commands.Any(c => c.ReleaseInstance?.GuestId == id)));
        Assert.True(_a.Commands.Single(c => c.StopInstance?.GuestId == id).StopInstance.Force);
        Assert.False(_a.Commands.Single(c => c.ReleaseInstance?.GuestId == id).ReleaseInstance.DeleteFiles);
        Assert.Equal(CellB, (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>());
        Assert.True((await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["running"]!.GetValue<bool>());

        // A copy of the current generation on its own cell is left alone.
        await alive.DisposeAsync();
        hello = TestAgent.Hello(CellB, cores: 8);
        hello.Domains.Add(new DomainReport { GuestId = id, Uuid = id, Name = id, State = DomainState.Running, Generation = 2 });
        await _b.DisposeAsync();
        _b = await TestAgent.ConnectAsync(fixture.Server.Channel, hello);
        _b.Answer = Answer;
        await _b.HeartbeatAsync();
        await Task.Delay(500);
        Assert.DoesNotContain(_b.Commands, c => c.ReleaseInstance is not null || c.StopInstance is not null || c.DeleteInstance is not null);
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/compute_pool_cells/{Pool}/{CellA}", new { enable = true }, Admin)).ErrorCode);
    }

    [Fact]
    public async Task ACellThatStopsInOrder_LosesItsGuests_WithoutFailover_UntilItReturns()
    {
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/compute_pools/{Pool}", new { storage = $"s_{_suffix}", failover = true }, Admin)).ErrorCode);
        var id = await GuestOnAsync("kept");
        await using var alive = _b.KeepAlive();
        await _a.GoodbyeAsync("maintenance");
        await _a.DisposeAsync();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["lost"]?.GetValue<bool>() == true);
        await Task.Delay(TimeSpan.FromSeconds(4)); // twice the grace period
        Assert.Equal(CellA, (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>());
        Assert.DoesNotContain(_b.Commands, c => c.ImportInstance is not null);

        // Back, then gone without a goodbye: now it fails over.
        _a = await JoinAsync(CellA);
        await _a.DisposeAsync();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>() == CellB);
        _a = await JoinAsync(CellA);
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/compute_pool_cells/{Pool}/{CellA}", new { enable = true }, Admin)).ErrorCode);
    }

    [Fact]
    public async Task BadMigrations_AreRefused_AndMoveNothing()
    {
        var id = await GuestOnAsync("stay");
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellA }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB, target_pool = "other" }, Admin));
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = "nowhere" }, Admin));
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB, instances = new[] { Guid.NewGuid().ToString() } }, Admin));
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellB, target_cell = CellA }, Admin)); // nothing on it
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB }, Admin)); // running
        await _b.DisposeAsync();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/{Pool}/{CellB}", Admin)).Data!["alive"]!.GetValue<bool>() == false);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        JsonAssert.Failure(503, await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB }, Admin));
        Assert.Equal(CellA, (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>());
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/migrations/{Guid.NewGuid()}", Admin));
        _b = await JoinAsync(CellB);
    }

    private async Task<TestAgent> JoinAsync(string cell)
    {
        var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello(cell, cores: 8), Answer);
        await agent.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        if ((await Rest.GetAsync($"/api/v1/compute_pool_cells/{Pool}", Admin)).Data!.AsArray().All(c => c!["name"]!.GetValue<string>() != cell))
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/{Pool}/{cell}", null, Admin)).ErrorCode);
        return agent;
    }

    /// <summary>A created guest; the scheduler is steered to cell A by leaving B without memory.</summary>
    private async Task<string> GuestOnAsync(string name)
    {
        await _b.MetricsAsync(new MetricsSample { AvailableMemory = 0, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/{Pool}/{CellB}", Admin)).Data!["available_memory"]!.GetValue<long>() == 0);
        var id = (await Rest.PostAsync("/api/v1/guests/", new { name, pool = Pool, template = "0qodbfbd15imbt3g0004", cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB } }, Admin))
            .Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data?["created"]?.GetValue<bool>() == true);
        Assert.Equal(CellA, (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>());
        await _b.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        return id;
    }

    /// <summary>
    /// Security, access rules (issue 13, item 10): a migration's state is handed out once, so reading it needs the
    /// compute pool menu; a session without it is refused over REST and gRPC and consumes nothing.
    /// </summary>
    [Fact]
    public async Task MigrationReads_NeedThePoolMenu_AndARefusedReadConsumesNothing()
    {
        var guest = await GuestOnAsync("read");
        var id = (await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB, instances = new[] { guest } }, Admin))
            .Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{guest}", Admin)).Data!["cell"]!.GetValue<string>() == CellB);
        var viewer = await fixture.UserWithMenusAsync($"mv{_suffix}", "dashboard");

        JsonAssert.Failure(403, await Rest.GetAsync($"/api/v1/migrations/{id}", viewer));
        JsonAssert.Failure(403, await Rest.GetAsync("/api/v1/migrations/", viewer));
        var client = new Nano.Contracts.V1.MigrationService.MigrationServiceClient(fixture.Server.Channel);
        var denied = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
            await client.GetMigrationAsync(new Nano.Contracts.V1.GetMigrationRequest { Id = id }, TestServer.Call(viewer)));
        Assert.Equal(Grpc.Core.StatusCode.PermissionDenied, denied.StatusCode);

        Assert.Equal("""{"finished":true,"progress":100,"error":""}""", (await WaitAsync(id)).Data!.ToJsonString()); // still there for the pool's administrators
    }

    private async Task<RestAnswer> WaitAsync(string migration)
    {
        RestAnswer answer = null!;
        await Wait.ForAsync(async () => (answer = await Rest.GetAsync($"/api/v1/migrations/{migration}", Admin)).Data!["finished"]!.GetValue<bool>());
        return answer;
    }

    private static CommandResult Ok(Command c, string guest) => new() { Id = c.Id, Instance = new InstanceState { GuestId = guest, State = DomainState.Stopped } };

    private static CommandResult Answer(Command c) => c.BodyCase switch
    {
        Command.BodyOneofCase.CreateInstance => Ok(c, c.CreateInstance.GuestId),
        Command.BodyOneofCase.ImportInstance => Ok(c, c.ImportInstance.Settings.GuestId),
        Command.BodyOneofCase.ReleaseInstance => Ok(c, c.ReleaseInstance.GuestId),
        Command.BodyOneofCase.StartInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.StartInstance.GuestId, State = DomainState.Running } },
        Command.BodyOneofCase.StopInstance => Ok(c, c.StopInstance.GuestId),
        _ => new CommandResult { Id = c.Id, Storage = new CellStorage { Mode = "nfs", System = { "/var/lib/nano/mounts/s" }, Data = { "/var/lib/nano/mounts/s" } } },
    };
}
