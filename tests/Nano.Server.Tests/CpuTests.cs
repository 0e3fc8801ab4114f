using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// Cells as they join (their free memory counts at once) and the CPU definitions guests get: a pool's <c>cpu</c> setting,
/// automatic choice over its cells, attaching cells that cannot start it, and live migrations whose CPU cannot move.
/// </summary>
public sealed class CpuTests(ZoneServer fixture) : IClassFixture<ZoneServer>, IAsyncLifetime
{
    private const long MiB = 1L << 20;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly List<IAsyncDisposable> _agents = [];

    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var agent in Enumerable.Reverse(_agents))
            await agent.DisposeAsync();
    }

    [Fact]
    public async Task ACellAttachedTheMomentItJoins_TakesAGuest_ItsHelloCarriesItsFreeMemory()
    {
        var pool = $"join_{_suffix}";
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/{pool}", new { }, Admin)).ErrorCode);
        var hello = TestAgent.Hello($"fresh_{_suffix}", memory: 4096 * MiB);
        hello.AvailableMemory = 3072 * MiB;
        hello.Storage.Total = 1L << 40;
        hello.Storage.Available = 500L << 30;
        var agent = await JoinAsync(hello, pool); // no metrics sample yet: only the hello

        var status = (await Rest.GetAsync($"/api/v1/compute_cell_status/{pool}/{hello.Name}", Admin)).Data!;
        Assert.Equal(3072 * MiB, status["available_memory"]!.GetValue<long>());
        var id = await CreateAsync(pool, "first", autoStart: false);
        Assert.Equal(hello.Name, (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>());
        Assert.Single(agent.Commands, c => c.CreateInstance?.GuestId == id);

        // The figure is the host's, not a placeholder: more than it has is refused, naming it.
        var refused = await Rest.PostAsync("/api/v1/guests/", Guest(pool, "huge", memory: 3584 * MiB), Admin);
        JsonAssert.Failure(412, refused);
        Assert.Contains($"the most any cell has is {3072 * MiB}", refused.Message);
    }

    [Fact]
    public async Task APoolsCpuSetting_IsValidated_Stored_AndHonouredOnlyWhereItsCellsCanStartIt()
    {
        var pool = $"cpu_{_suffix}";
        JsonAssert.Failure(400, await Rest.PostAsync($"/api/v1/compute_pools/{pool}", new { cpu = "EPYC; reboot" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync($"/api/v1/compute_pools/{pool}", new { cpu = "<model>" }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/compute_pools/{pool}", Admin));
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/{pool}", new { cpu = "EPYC" }, Admin)).ErrorCode);
        JsonAssert.Success($$"""{"name":"{{pool}}","enabled":true,"cells":0,"storage":"","network":"","failover":false,"cpu":"EPYC"}""",
            await Rest.GetAsync($"/api/v1/compute_pools/{pool}", Admin));

        // An Intel host that cannot start EPYC is not attached; the refusal names the model.
        var intel = Hello($"intel_{_suffix}", "sig-intel", "host-passthrough", "host-model", "Skylake-Client", "qemu64");
        var refused = await JoinAsync(intel, pool, attached: false);
        var attach = await Rest.PostAsync($"/api/v1/compute_pool_cells/{pool}/{intel.Name}", null, Admin);
        JsonAssert.Failure(412, attach);
        Assert.Contains("cannot start guests with CPU 'EPYC'", attach.Message);
        Assert.DoesNotContain(refused.Commands, c => c.AttachStorage is not null);

        var amd = Hello($"amd_{_suffix}", "sig-amd", "host-passthrough", "EPYC", "qemu64");
        var agent = await JoinAsync(amd, pool);
        Assert.Equal(["host-passthrough", "EPYC", "qemu64"],
            (await Rest.GetAsync($"/api/v1/compute_pool_cells/{pool}/{amd.Name}", Admin)).Data!["cpus"]!.AsArray().Select(c => c!.GetValue<string>()));
        var id = await CreateAsync(pool, "epyc", autoStart: true);
        Assert.Equal("EPYC", agent.Commands.Single(c => c.CreateInstance?.GuestId == id).CreateInstance.Cpu);
        Assert.Equal("EPYC", agent.Commands.Single(c => c.StartInstance?.GuestId == id).StartInstance.Cpu);

        // A setting one of its cells cannot start is refused and changes nothing; automatic is always accepted.
        var change = await Rest.PutAsync($"/api/v1/compute_pools/{pool}", new { cpu = "Skylake-Client" }, Admin);
        JsonAssert.Failure(412, change);
        Assert.Contains($"cell '{amd.Name}'", change.Message);
        Assert.Equal("EPYC", (await Rest.GetAsync($"/api/v1/compute_pools/{pool}", Admin)).Data!["cpu"]!.GetValue<string>());
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/compute_pools/{pool}", new { }, Admin)).ErrorCode);
        Assert.Equal("", (await Rest.GetAsync($"/api/v1/compute_pools/{pool}", Admin)).Data!["cpu"]!.GetValue<string>());
    }

    [Fact]
    public async Task Automatic_IsHostPassthroughForIdenticalHosts_ElseTheBestSharedModel_AndACellSharingNothingIsRefused()
    {
        var pool = $"auto_{_suffix}";
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/{pool}", new { }, Admin)).ErrorCode);
        var first = await JoinAsync(Hello($"a1_{_suffix}", "sig-same", "host-passthrough", "host-model", "Cascadelake-Server", "Skylake-Client", "qemu64"), pool);
        var twin = await JoinAsync(Hello($"a2_{_suffix}", "sig-same", "host-passthrough", "host-model", "Cascadelake-Server", "Skylake-Client", "qemu64"), pool);
        var id = await CreateAsync(pool, "twins", autoStart: true);
        Assert.Equal("host-passthrough", StartOf(id, first, twin).Cpu);

        // Another CPU joins: the next start gets the best model all three start; the running guest keeps its CPU until it stops.
        await JoinAsync(Hello($"a3_{_suffix}", "sig-other", "host-passthrough", "Skylake-Client", "qemu64"), pool);
        Assert.True((await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["running"]!.GetValue<bool>());
        Assert.Single(new[] { first, twin }.SelectMany(a => a.Commands), c => c.StartInstance?.GuestId == id || c.RedefineInstance?.Settings.GuestId == id);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        Assert.Equal("Skylake-Client", StartOf(id, first, twin).Cpu);

        var stranger = Hello($"a4_{_suffix}", "sig-stranger", "host-passthrough", "Opteron_G5");
        await JoinAsync(stranger, pool, attached: false);
        var refused = await Rest.PostAsync($"/api/v1/compute_pool_cells/{pool}/{stranger.Name}", null, Admin);
        JsonAssert.Failure(412, refused);
        Assert.Contains("shares no CPU definition", refused.Message);
    }

    [Fact]
    public async Task ALiveMigration_WhoseCpuCannotMove_IsRefused_WithTheReason()
    {
        var pool = $"live_{_suffix}";
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/storage_pools/s_{_suffix}", new { type = "shared", target = "/srv/nano-cpu" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/{pool}", new { storage = $"s_{_suffix}" }, Admin)).ErrorCode);
        var sourceHello = Hello($"src_{_suffix}", "sig-source", "host-passthrough", "Skylake-Client", "qemu64");
        sourceHello.MigrationUri = "qemu+tcp://10.0.0.1/system";
        sourceHello.Address = "10.0.0.1";
        var source = await JoinAsync(sourceHello, pool);
        var id = await CreateAsync(pool, "mover", autoStart: true); // alone in the pool: host-passthrough
        Assert.Equal("host-passthrough", StartOf(id, source).Cpu);

        var targetHello = Hello($"dst_{_suffix}", "sig-target", "host-passthrough", "Skylake-Client", "qemu64");
        targetHello.MigrationUri = "qemu+tcp://10.0.0.2/system";
        targetHello.Address = "10.0.0.2";
        var target = await JoinAsync(targetHello, pool);
        var migrate = new { source_pool = pool, source_cell = sourceHello.Name, target_cell = targetHello.Name, instances = new[] { id } };
        var refused = await Rest.PostAsync("/api/v1/migrations/", migrate, Admin);
        JsonAssert.Failure(412, refused);
        Assert.Contains("runs with CPU 'host-passthrough'", refused.Message);
        Assert.Contains("same CPU", refused.Message);
        Assert.DoesNotContain(target.Commands, c => c.ImportInstance is not null);

        // Restarted, it gets the model both start, and moves.
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        Assert.Equal("Skylake-Client", StartOf(id, source).Cpu);
        var started = await Rest.PostAsync("/api/v1/migrations/", migrate, Admin);
        Assert.Equal(0, started.ErrorCode);
        await Wait.ForAsync(() => Task.FromResult(target.Commands.Any(c => c.ImportInstance?.Settings.GuestId == id)));
        Assert.NotNull(target.Commands.Single(c => c.ImportInstance?.Settings.GuestId == id).ImportInstance.Live);
    }

    private static Hello Hello(string name, string signature, params string[] cpus)
    {
        var hello = TestAgent.Hello(name, cores: 8, memory: 16L << 30);
        hello.Storage.Total = 1L << 40;
        hello.Storage.Available = 500L << 30;
        hello.CpuSignature = signature;
        hello.Cpus.AddRange(cpus);
        return hello;
    }

    /// <summary>The last StartInstance of the guest any of the agents received.</summary>
    private static StartInstance StartOf(string guest, params TestAgent[] agents) =>
        agents.SelectMany(a => a.Commands).Where(c => c.StartInstance?.GuestId == guest).Select(c => c.StartInstance).Last();

    private async Task<TestAgent> JoinAsync(Hello hello, string pool, bool attached = true)
    {
        var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, hello);
        _agents.Add(agent);
        _agents.Add(agent.KeepAlive());
        agent.Answer = c => Answer(c);
        if (attached)
        {
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/{pool}/{hello.Name}", null, Admin)).ErrorCode);
            await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/{pool}/{hello.Name}", Admin)).Data?["alive"]?.GetValue<bool>() == true);
        }
        return agent;
    }

    /// <summary>As a cell answers: a started domain runs with the CPU definition it was given.</summary>
    private static CommandResult Answer(Command c) => c.BodyCase switch
    {
        Command.BodyOneofCase.CreateInstance => State(c, c.CreateInstance.GuestId, DomainState.Stopped, c.CreateInstance.Cpu),
        Command.BodyOneofCase.StartInstance => State(c, c.StartInstance.GuestId, DomainState.Running, c.StartInstance.Cpu),
        Command.BodyOneofCase.StopInstance => State(c, c.StopInstance.GuestId, DomainState.Stopped, ""),
        Command.BodyOneofCase.ImportInstance => State(c, c.ImportInstance.Settings.GuestId, DomainState.Running, ""),
        Command.BodyOneofCase.ReleaseInstance => State(c, c.ReleaseInstance.GuestId, DomainState.Stopped, ""),
        _ => new CommandResult { Id = c.Id, Storage = TestAgent.LocalStorage("/var/lib/nano/images") },
    };

    private static CommandResult State(Command c, string guest, DomainState state, string cpu) =>
        new() { Id = c.Id, Instance = new InstanceState { GuestId = guest, State = state, Cpu = cpu } };

    private static object Guest(string pool, string name, long memory = 256 * MiB, bool autoStart = false) =>
        new { name, pool, template = "0qodbfbd15imbt3g0004", cores = 1, memory, disks = new[] { 1024 * MiB }, auto_start = autoStart };

    private async Task<string> CreateAsync(string pool, string name, bool autoStart)
    {
        var created = await Rest.PostAsync("/api/v1/guests/", Guest(pool, name, autoStart: autoStart), Admin);
        Assert.True(created.ErrorCode == 0, created.Message);
        var id = created.Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data?["created"]?.GetValue<bool>() == true);
        return id;
    }
}
