using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>
/// Issue 14, item 1: work a server stopped half-way through is finished or undone when it starts again, reconciled with
/// what the cells say they have. A stop is made to look like a crash from the database's side: the database is cut before
/// the first server stops, so none of its compensations are written, and a second server starts on the same database.
/// </summary>
public sealed class RecoveryTests : IAsyncLifetime
{
    private const long MiB = 1L << 20;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private SocketProxy _proxy = null!;
    private TestServer _first = null!;
    private bool _crashed;
    private string _admin = "";
    private readonly List<IAsyncDisposable> _heartbeats = [];

    private string Pool => $"pr_{_suffix}";
    private string CellA => $"ra_{_suffix}";
    private string CellB => $"rb_{_suffix}";

    /// <summary>One data folder for both servers, as a restart has (secrets at rest are sealed with a key kept there).</summary>
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"nano-test-data-{Guid.NewGuid():N}");

    private Dictionary<string, string?> Settings(int commandTimeout, int recoveryWait) => new()
    {
        ["Nano:DataDir"] = _data,
        ["Nano:CellToken"] = "test-token",
        ["Nano:CellLivenessSeconds"] = "3",
        ["Nano:CellCommandTimeoutSeconds"] = commandTimeout.ToString(),
        ["Nano:CellHeartbeatIntervalMs"] = "500",
        ["Nano:CellMetricsIntervalMs"] = "1000",
        ["Nano:FailoverGraceSeconds"] = "60",
        ["Nano:RecoveryWaitSeconds"] = recoveryWait.ToString(),
        ["Nano:ReplicaLivenessSeconds"] = "2",
    };

    public async Task InitializeAsync()
    {
        _proxy = new SocketProxy(await TestDatabase.CreateAsync());
        // The first server waits for its cells long enough for the test to stop it while they work.
        _first = await TestServer.StartAsync(_proxy.ConnectionString, Settings(commandTimeout: 120, recoveryWait: 30));
        _admin = await _first.FirstRunAsync(InitializedServer.AllMenus);
        var rest = _first.Rest;
        Assert.Equal(0, (await rest.PostAsync($"/api/v1/address_pools/net_{_suffix}", new { gateway = "10.30.0.1", provider = "dhcp", dns = new[] { "10.30.0.2" } }, _admin)).ErrorCode);
        Assert.Equal(0, (await rest.PostAsync($"/api/v1/address_pools/net_{_suffix}/internal/ranges/10.30.0.10", new { end = "10.30.0.20", netmask = "255.255.255.0" }, _admin)).ErrorCode);
        Assert.Equal(0, (await rest.PostAsync($"/api/v1/storage_pools/s_{_suffix}", new { type = "nfs", host = "127.0.0.1", target = "/export" }, _admin)).ErrorCode);
        Assert.Equal(0, (await rest.PostAsync($"/api/v1/compute_pools/{Pool}", new { network = $"net_{_suffix}", storage = $"s_{_suffix}" }, _admin)).ErrorCode);
    }

    public async Task DisposeAsync()
    {
        foreach (var heartbeats in _heartbeats)
            await heartbeats.DisposeAsync();
        if (!_crashed)
            await _first.DisposeAsync();
        await _proxy.DisposeAsync();
    }

    [Fact]
    public async Task CreationsCutOffByAServerStop_AreFinishedWhereTheCellHasTheDomain_AndUndoneWhereItHasNot()
    {
        await using (var a = await JoinAsync(_first, CellA, Answer))
        {
            // The cell takes the creations and never answers them while this server runs.
            a.Answer = c => c.CreateInstance is not null ? null : Answer(c);
            var whole = await CreateAsync(_first, "whole");
            var half = await CreateAsync(_first, "half");
            await Wait.ForAsync(() => Task.FromResult(a.Commands.Count(c => c.CreateInstance is not null) == 2));
            await CrashAsync();
            Assert.Equal([false, false], await ScalarsAsync<bool>("SELECT created FROM guests ORDER BY name"));

            await using var second = await TestServer.StartAsync(_proxy.ConnectionString, Settings(commandTimeout: 10, recoveryWait: 30));
            // Back, the cell has the first guest's domain whole; of the second it has nothing.
            await using var back = await JoinAsync(second, CellA, c => c.InspectInstance?.GuestId == whole
                ? new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = whole, Defined = true, Generation = 1, State = DomainState.Stopped } }
                : Answer(c));
            await Wait.ForAsync(async () => await ScalarsAsync<string>("SELECT state FROM operations WHERE kind = 'create_guest' AND finished_at IS NOT NULL") is { Count: 2 });

            // Sessions live in the database: the first server's still holds.
            var guest = await second.Rest.GetAsync($"/api/v1/guests/{whole}", _admin);
            Assert.True(guest.ErrorCode == 0 && guest.Data!["created"]!.GetValue<bool>(), guest.Text);
            Assert.NotEqual(0, (await second.Rest.GetAsync($"/api/v1/guests/{half}", _admin)).ErrorCode);
            Assert.Equal(["whole"], await ScalarsAsync<string>("SELECT split_part(name, '.', 2) FROM guests"));
            Assert.Contains(back.Commands, c => c.DeleteInstance?.GuestId == half);
            Assert.DoesNotContain(back.Commands, c => c.DeleteInstance?.GuestId == whole);
            Assert.Equal(1, (await ScalarsAsync<long>("SELECT count(*) FROM address_allocations")).Single());
            var ops = await RowsAsync("SELECT target, state, error FROM operations WHERE kind = 'create_guest'");
            Assert.Equal("succeeded", ops[whole].State);
            Assert.Equal("failed", ops[half].State);
            Assert.Contains("recovery undid it", ops[half].Error);
            Assert.Contains("had not finished it", ops[half].Error);
        }
    }

    [Fact]
    public async Task ACreationWhoseCellNeverComesBack_IsUndoneAfterTheRecoveryWait()
    {
        string lost;
        await using (var a = await JoinAsync(_first, CellA, Answer))
        {
            a.Answer = c => c.CreateInstance is not null ? null : Answer(c);
            lost = await CreateAsync(_first, "lost");
            await Wait.ForAsync(() => Task.FromResult(a.Commands.Any(c => c.CreateInstance is not null)));
            await CrashAsync();
        }
        await using var second = await TestServer.StartAsync(_proxy.ConnectionString, Settings(commandTimeout: 10, recoveryWait: 2));
        await Wait.ForAsync(async () => await ScalarsAsync<string>("SELECT state FROM operations WHERE kind = 'create_guest' AND finished_at IS NOT NULL") is { Count: 1 });
        Assert.Empty(await ScalarsAsync<string>("SELECT name FROM guests"));
        Assert.Equal(0, (await ScalarsAsync<long>("SELECT count(*) FROM address_allocations")).Single());
        var op = (await RowsAsync("SELECT target, state, error FROM operations WHERE kind = 'create_guest'"))[lost];
        Assert.Equal("failed", op.State);
        Assert.Contains($"cell '{CellA}' did not come back within 2 s", op.Error);
    }

    [Fact]
    public async Task AMigrationCutOffByAServerStop_FinishesTheGuestsTheTargetHas_AndLeavesTheOthersOnTheirSource()
    {
        var a = await JoinAsync(_first, CellA, Answer);
        var b = await JoinAsync(_first, CellB, Answer);
        await b.MetricsAsync(new MetricsSample { AvailableMemory = 0, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        await Wait.ForAsync(async () => (await _first.Rest.GetAsync($"/api/v1/compute_cell_status/{Pool}/{CellB}", _admin)).Data!["available_memory"]!.GetValue<long>() == 0);
        var moved = await CreateAsync(_first, "m1");
        var stays = await CreateAsync(_first, "m2");
        foreach (var id in new[] { moved, stays })
            await Wait.ForAsync(async () => (await _first.Rest.GetAsync($"/api/v1/guests/{id}", _admin)).Data?["created"]?.GetValue<bool>() == true);

        // The target takes the first guest and never answers; the second is never reached.
        b.Answer = c => c.ImportInstance is not null ? null : Answer(c);
        var started = await _first.Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = CellA, target_cell = CellB, instances = new[] { moved, stays } }, _admin);
        Assert.Equal(0, started.ErrorCode);
        await Wait.ForAsync(() => Task.FromResult(b.Commands.Any(c => c.ImportInstance is not null)));
        var first = b.Commands.First(c => c.ImportInstance is not null).ImportInstance.Settings.GuestId;
        var second = first == moved ? stays : moved;
        await CrashAsync();
        await a.DisposeAsync();
        await b.DisposeAsync();
        Assert.Equal([true, true], await ScalarsAsync<bool>("SELECT migrating FROM guests ORDER BY name"));

        await using var server = await TestServer.StartAsync(_proxy.ConnectionString, Settings(commandTimeout: 10, recoveryWait: 30));
        CommandResult Has(Command c, string guest, long generation) =>
            new() { Id = c.Id, Instance = new InstanceState { GuestId = guest, Defined = true, Generation = generation, State = DomainState.Stopped } };
        await using var backA = await JoinAsync(server, CellA, c => c.InspectInstance?.GuestId == second ? Has(c, second, 1) : Answer(c));
        await using var backB = await JoinAsync(server, CellB, c => c.InspectInstance?.GuestId == first ? Has(c, first, 2) : Answer(c));
        await Wait.ForAsync(async () => await ScalarsAsync<string>("SELECT state FROM operations WHERE kind = 'migrate_guests' AND finished_at IS NOT NULL") is { Count: 1 });

        var rows = (await Connection().QueryAsync<(Guid Id, string Cell, bool Migrating, long Generation)>("SELECT id, cell, migrating, generation FROM guests"))
            .ToDictionary(r => r.Id.ToString());
        Assert.Equal((CellB, false, 2L), (rows[first].Cell, rows[first].Migrating, rows[first].Generation));
        Assert.Equal((CellA, false, 1L), (rows[second].Cell, rows[second].Migrating, rows[second].Generation));
        Assert.Contains(backA.Commands, c => c.ReleaseInstance?.GuestId == first);
        Assert.DoesNotContain(backA.Commands, c => c.ImportInstance is not null || c.ReleaseInstance?.GuestId == second);
        var op = await ScalarsAsync<string>("SELECT error FROM operations WHERE kind = 'migrate_guests'");
        Assert.Contains($"cell '{CellB}' did not have it: the guest stays on '{CellA}'", op.Single());
    }

    [Fact]
    public async Task ImageWorkCutOffByAServerStop_IsUndone_AClonesImageAndFile_AnUploadsStagedFile()
    {
        // What a crash leaves: a clone's image (not created, its operation unfinished) with part of its file, and an
        // upload's staged file; the image the upload was for stays as it was.
        var uploaded = (await _first.Rest.PostAsync("/api/v1/disk_images/", new { name = "target" }, _admin)).Data!["id"]!.GetValue<string>();
        var store = _first.Services.GetRequiredService<Nano.Server.Images.ImageStore>();
        var (clone, operation) = (Guid.NewGuid(), Guid.NewGuid());
        // Files before rows, as the product writes them: a recovery that meets the rows finds the files.
        File.WriteAllBytes(store.PathOf("disk", clone), new byte[4096]);
        var staged = Path.Combine(store.Root, ".incoming", $"{Guid.NewGuid():N}.part");
        File.WriteAllBytes(staged, new byte[4096]);
        await using (var c = Connection())
        {
            await c.ExecuteAsync("INSERT INTO operations (id, kind, target, created_by, state) VALUES (@operation, 'clone_disk_image', @clone, 'admin', 'running')",
                new { operation, clone = clone.ToString() });
            await c.ExecuteAsync("INSERT INTO images (id, kind, name, owner, group_name, operation, locked_by) VALUES (@clone, 'disk', 'copy', 'admin', 'admin', @operation, @operation)",
                new { clone, operation });
            await c.ExecuteAsync("UPDATE images SET locked_by = gen_random_uuid() WHERE id = @uploaded::uuid", new { uploaded });
        }
        await CrashAsync();

        await using var second = await TestServer.StartAsync(_proxy.ConnectionString, Settings(commandTimeout: 10, recoveryWait: 30));
        // The first server is a dead replica once its registry row is older than the liveness window; the leader then recovers its work.
        // The end state is waited for as a whole: the first server's own first recovery (it became leader as the test began)
        // may have met part of what the test wrote and left the rest to the second.
        await Wait.ForAsync(async () => !File.Exists(staged) && !File.Exists(store.PathOf("disk", clone))
            && (await ScalarsAsync<string>($"SELECT name FROM images WHERE id = '{clone}'")).Count == 0
            && (await ScalarsAsync<string>($"SELECT state FROM operations WHERE id = '{operation}'")).Single() == "failed"
            && (await ScalarsAsync<bool>($"SELECT locked_by IS NULL FROM images WHERE id = '{uploaded}'")).Single());
        var image = await second.Rest.GetAsync($"/api/v1/disk_images/{uploaded}", _admin);
        Assert.False(image.Data!["created"]!.GetValue<bool>());
        Assert.Equal(0, (await second.Rest.DeleteAsync($"/api/v1/disk_images/{uploaded}", null, _admin)).ErrorCode); // not held by a lost upload
    }

    /// <summary>
    /// Issue 14, item 5: a database outage that falls on a creation's last writes is waited out: once the database is back
    /// the guest is created and its operation ends (it stayed running, the guest not created, until the next start).
    /// </summary>
    [Fact]
    public async Task AnOutageOverACreationsLastWrites_IsWaitedOut_TheGuestIsCreatedAndItsOperationEnds()
    {
        var gate = new TaskCompletionSource();
        await using var a = await JoinAsync(_first, CellA, Answer);
        a.HoldAnswers(c => c.CreateInstance is not null, gate.Task, Answer);
        var id = await CreateAsync(_first, "outage");
        await Wait.ForAsync(() => Task.FromResult(a.Commands.Any(c => c.CreateInstance is not null)));
        _proxy.Cut();
        gate.SetResult(); // the cell answers while the database is down
        await Task.Delay(TimeSpan.FromSeconds(2));
        _proxy.Restore();

        await Wait.ForAsync(async () => await ScalarsAsync<string>($"SELECT state FROM operations WHERE target = '{id}' AND finished_at IS NOT NULL") is { Count: 1 });
        Assert.Equal("succeeded", (await ScalarsAsync<string>($"SELECT state FROM operations WHERE target = '{id}'")).Single());
        Assert.Equal([true], await ScalarsAsync<bool>($"SELECT created FROM guests WHERE id = '{id}'"));
        Assert.DoesNotContain(a.Commands, c => c.DeleteInstance is not null);
    }

    /// <summary>The first server stops as if it crashed: the database is gone before it can write any compensation.</summary>
    private async Task CrashAsync()
    {
        _proxy.Cut();
        _crashed = true;
        await _first.DisposeAsync();
        _proxy.Restore();
    }

    private async Task<TestAgent> JoinAsync(TestServer server, string cell, Func<Command, CommandResult?> answer)
    {
        var agent = await TestAgent.ConnectAsync(server.Channel, TestAgent.Hello(cell, cores: 8), answer);
        _heartbeats.Add(agent.KeepAlive());
        await agent.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        if (server == _first)
        {
            Assert.Equal(0, (await server.Rest.PostAsync($"/api/v1/compute_pool_cells/{Pool}/{cell}", null, _admin)).ErrorCode);
            await Wait.ForAsync(async () => (await server.Rest.GetAsync($"/api/v1/compute_cell_status/{Pool}/{cell}", _admin)).Data!["available_disk"]!.GetValue<long>() == 500L << 30);
        }
        return agent;
    }

    private async Task<string> CreateAsync(TestServer server, string name)
    {
        var created = await server.Rest.PostAsync("/api/v1/guests/",
            new { name, pool = Pool, template = "0qodbfbd15imbt3g0004", cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB } }, _admin);
        Assert.True(created.ErrorCode == 0, created.Text);
        return created.Data!["id"]!.GetValue<string>();
    }

    /// <summary>Unpooled: a pooled connection would outlive the cut of the database it went through.</summary>
    private NpgsqlConnection Connection() => new(new NpgsqlConnectionStringBuilder(_first.Database) { Pooling = false }.ConnectionString);

    private async Task<List<T>> ScalarsAsync<T>(string sql)
    {
        await using var c = Connection();
        return (await c.QueryAsync<T>(sql)).AsList();
    }

    private async Task<Dictionary<string, (string State, string Error)>> RowsAsync(string sql)
    {
        await using var c = Connection();
        return (await c.QueryAsync<(string Target, string State, string Error)>(sql)).ToDictionary(r => r.Target, r => (r.State, r.Error));
    }

    private static CommandResult Answer(Command c) => c.BodyCase switch
    {
        Command.BodyOneofCase.CreateInstance => Stopped(c, c.CreateInstance.GuestId),
        Command.BodyOneofCase.ImportInstance => Stopped(c, c.ImportInstance.Settings.GuestId),
        Command.BodyOneofCase.ReleaseInstance => Stopped(c, c.ReleaseInstance.GuestId),
        Command.BodyOneofCase.DeleteInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.DeleteInstance.GuestId } },
        Command.BodyOneofCase.InspectInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.InspectInstance.GuestId } },
        _ => new CommandResult { Id = c.Id, Storage = new CellStorage { Mode = "nfs", System = { "/var/lib/nano/mounts/s" }, Data = { "/var/lib/nano/mounts/s" } } },
    };

    private static CommandResult Stopped(Command c, string guest) => new() { Id = c.Id, Instance = new InstanceState { GuestId = guest, State = DomainState.Stopped } };
}
