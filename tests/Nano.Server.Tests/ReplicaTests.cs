using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nano.Contracts.Cell.V1;
using Nano.Server.Replicas;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>
/// Issue 16: replicas of nano-server on one database. Each replica reaches the database through a socket proxy of its
/// own, so a test can cut one replica off (to the others and to the database it is dead, as a killed process is).
/// Killing replicas' processes with SIGKILL, with real agents moving between them, is the end-to-end suite's.
/// </summary>
public sealed class ReplicaTests : IAsyncLifetime
{
    private const long MiB = 1L << 20;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly List<IAsyncDisposable> _owned = [];
    private string _database = "";

    /// <summary>The replicas' shared data folder: one secrets key, one image store.</summary>
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"nano-test-data-{Guid.NewGuid():N}");

    private Dictionary<string, string?> Settings() => new()
    {
        ["Nano:DataDir"] = _data,
        ["Nano:CellToken"] = "test-token",
        ["Nano:ReplicaLivenessSeconds"] = "4", // shorter windows take a replica of a loaded test host for dead
        ["Nano:CellLivenessSeconds"] = "3",
        ["Nano:CellHeartbeatIntervalMs"] = "500",
        ["Nano:CellMetricsIntervalMs"] = "1000",
        ["Nano:RecoveryWaitSeconds"] = "2",
        ["Nano:CellCommandTimeoutSeconds"] = "120", // creations the tests hold wait for their answers
    };

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
            await owned.DisposeAsync();
    }

    [Fact]
    public async Task TwoReplicasStartingAtOnce_OnAFreshDatabase_ApplyEachMigrationOnce_AndOneLeads()
    {
        var started = await Task.WhenAll(TestServer.StartAsync(_database, Settings()), TestServer.StartAsync(_database, Settings()));
        _owned.AddRange(started);

        var scripts = typeof(ReplicaIdentity).Assembly.GetManifestResourceNames().Count(n => n.StartsWith("Nano.Server.Data.Schema.", StringComparison.Ordinal));
        Assert.Equal(scripts, (await ScalarsAsync<long>("SELECT count(DISTINCT version) FROM schema_journal")).Single());
        Assert.Equal(scripts, (await ScalarsAsync<long>("SELECT count(*) FROM schema_journal")).Single());
        Assert.Equal(started.Select(s => s.GrpcUrl).Order(), await ScalarsAsync<string>("SELECT grpc_url FROM replicas ORDER BY grpc_url"));
        await Wait.ForAsync(() => Task.FromResult(started.Count(IsLeader) == 1));
        await Task.Delay(TimeSpan.FromSeconds(2)); // a few renewals later, still one
        Assert.Equal(1, started.Count(IsLeader));
    }

    /// <summary>
    /// Replica A leads and runs a creation; replica B runs another; replica C starts meanwhile and touches neither. A is
    /// cut off from the database (for the zone, it died): B or C takes the lead within the liveness window, recovers A's
    /// creation (its cell, connected to A, does not come back: it is undone), sweeps expired sessions, and leaves B's
    /// creation alone, which then finishes. A, back on the database, finds it was taken for dead and stops.
    /// </summary>
    [Fact]
    public async Task ALeaderCutOff_IsReplaced_ItsWorkRecovered_ALiveReplicasLeftAlone_AndItStopsWhenBack()
    {
        var (proxyA, a, b, admin) = await ALeaderAndASecondReplicaWithAPoolAsync();
        var cellA = await JoinAsync(a, admin, $"ca_{_suffix}");
        var cellB = await JoinAsync(b, admin, $"cb_{_suffix}");
        var release = new TaskCompletionSource();
        cellA.Answer = c => c.CreateInstance is not null ? null : Answer(c); // A's creation never answered
        cellB.HoldAnswers(c => c.CreateInstance is not null, release.Task, Answer);
        var onA = await CreateAsync(a, admin, "ona", $"ca_{_suffix}");
        var onB = await CreateAsync(b, admin, "onb", $"cb_{_suffix}");
        await Wait.ForAsync(() => Task.FromResult(cellA.Commands.Any(c => c.CreateInstance is not null) && cellB.Commands.Any(c => c.CreateInstance is not null)));
        await using (var c = Connection())
            await c.ExecuteAsync("INSERT INTO sessions (id, user_name, expires_at) VALUES (@id, 'admin', now() - interval '2 hours')", new { id = $"old-{_suffix}" });

        // A third replica starts while both creations run: it touches neither.
        var (_, c3) = await StartBehindProxyAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(["running", "running"], await ScalarsAsync<string>($"SELECT state FROM operations WHERE target IN ('{onA}', '{onB}')"));

        var stopping = a.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        proxyA.Cut();
        await Wait.ForAsync(() => Task.FromResult(IsLeader(b) || IsLeader(c3)));
        await Wait.ForAsync(async () => await ScalarsAsync<string>($"SELECT state FROM operations WHERE target = '{onA}' AND finished_at IS NOT NULL") is { Count: 1 });
        var recovered = await ScalarsAsync<string>($"SELECT error FROM operations WHERE target = '{onA}' AND kind = 'create_guest'");
        Assert.Contains("did not come back within 2 s", recovered.Single());
        Assert.Empty(await ScalarsAsync<string>($"SELECT name FROM guests WHERE id = '{onA}'"));
        await Wait.ForAsync(async () => (await ScalarsAsync<long>($"SELECT count(*) FROM sessions WHERE id = 'old-{_suffix}'")).Single() == 0);
        Assert.Equal(new[] { b.GrpcUrl, c3.GrpcUrl }.Order(), await ScalarsAsync<string>("SELECT grpc_url FROM replicas ORDER BY grpc_url"));

        // B's own creation was never taken for orphaned work: still running, it finishes once its cell answers.
        Assert.Equal(["running"], await ScalarsAsync<string>($"SELECT state || error FROM operations WHERE target = '{onB}'"));
        release.SetResult();
        await Wait.ForAsync(async () => await ScalarsAsync<string>($"SELECT state FROM operations WHERE target = '{onB}' AND finished_at IS NOT NULL") is ["succeeded"]);

        Assert.False(stopping.IsCancellationRequested);
        proxyA.Restore();
        await Wait.ForAsync(() => Task.FromResult(stopping.IsCancellationRequested));
    }

    /// <summary>
    /// Sessions are checked in memory: a hundred calls on B cost no database transaction each. A logout on A, a user
    /// deleted on A, a role narrowed on A: each is refused or narrowed on B at once, by the database's signal.
    /// </summary>
    [Fact]
    public async Task SessionsAreCheckedInMemory_AndChangesOnOneReplica_AreEnforcedOnAnotherAtOnce()
    {
        var (_, a) = await StartBehindProxyAsync();
        var (proxyB, b) = await StartBehindProxyAsync();
        var admin = await a.FirstRunAsync(InitializedServer.AllMenus);
        await Wait.ForAsync(() => Task.FromResult(b.Services.GetRequiredService<ReplicaSignals>().Listening));
        // What B sends the database over 200 calls: with the session and the list in memory, only its own beats (0 to
        // 2 KB); reading the session each call costs some 95 bytes of prepared statement a call (19 KB measured).
        Assert.Equal(0, (await b.Rest.GetAsync("/api/v1/users/", admin)).ErrorCode);
        var before = proxyB.SentBytes;
        for (var i = 0; i < 200; i++)
            Assert.Equal(0, (await b.Rest.GetAsync("/api/v1/users/", admin)).ErrorCode);
        var sent = proxyB.SentBytes - before;
        Assert.True(sent < 200 * 25, $"200 calls sent the database {sent} bytes");

        for (var i = 0; i < 10; i++)
        {
            var session = await LoginAsync(a, InitializedServer.AdminName, InitializedServer.AdminPassword);
            Assert.Equal(0, (await b.Rest.GetAsync("/api/v1/users/", session)).ErrorCode);
            Assert.Equal(0, (await a.Rest.DeleteAsync($"/api/v1/sessions/{session}", null, session)).ErrorCode);
            var after = await b.Rest.GetAsync("/api/v1/users/", session);
            Assert.True(after.ErrorCode != 0 && after.Text.Contains("no such session"), $"logout {i}: {after.Text}");
        }

        // A user with the user menu through a role: the role loses it on A, the user's next change on B is refused.
        Assert.Equal(0, (await a.Rest.PostAsync($"/api/v1/roles/r_{_suffix}", new { menu = new[] { "user" } }, admin)).ErrorCode);
        Assert.Equal(0, (await a.Rest.PostAsync($"/api/v1/user_groups/g_{_suffix}", new { display = "g", role = new[] { $"r_{_suffix}" } }, admin)).ErrorCode);
        Assert.Equal(0, (await a.Rest.PostAsync($"/api/v1/users/u_{_suffix}", new { password = "Replica2026Pass" }, admin)).ErrorCode);
        Assert.Equal(0, (await a.Rest.PostAsync($"/api/v1/user_groups/g_{_suffix}/members/u_{_suffix}", null, admin)).ErrorCode);
        var user = await LoginAsync(a, $"u_{_suffix}", "Replica2026Pass");
        Assert.Equal(0, (await b.Rest.PostAsync($"/api/v1/users/v_{_suffix}", new { password = "Replica2026Pass" }, user)).ErrorCode);
        Assert.Equal(0, (await a.Rest.PutAsync($"/api/v1/roles/r_{_suffix}", new { menu = new[] { "dashboard" } }, admin)).ErrorCode);
        var narrowed = await b.Rest.PostAsync($"/api/v1/users/w_{_suffix}", new { password = "Replica2026Pass" }, user);
        Assert.True(narrowed.ErrorCode != 0, narrowed.Text);

        // Deleted on A: its session is refused on B.
        Assert.Equal(0, (await b.Rest.GetAsync("/api/v1/users/", user)).ErrorCode);
        Assert.Equal(0, (await a.Rest.DeleteAsync($"/api/v1/user_groups/g_{_suffix}/members/u_{_suffix}", null, admin)).ErrorCode);
        Assert.Equal(0, (await a.Rest.DeleteAsync($"/api/v1/users/u_{_suffix}", null, admin)).ErrorCode);
        Assert.NotEqual(0, (await b.Rest.GetAsync("/api/v1/users/", user)).ErrorCode);
        // And the list of users B keeps in memory follows the change made on A.
        var names = (await b.Rest.GetAsync("/api/v1/users/", admin)).Data!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Contains($"v_{_suffix}", names);
        Assert.DoesNotContain($"u_{_suffix}", names);
    }

    /// <summary>
    /// A creation runs on A (its cell never answers). Watched from B, its states arrive; cancelled from B, A's work is
    /// cancelled (not just its row marked): A undoes the creation on its cell, and B's watch ends with the cancellation.
    /// </summary>
    [Fact]
    public async Task AnOperationRunOnOneReplica_IsWatchedAndCancelledFromAnother()
    {
        var (_, a) = await StartBehindProxyAsync();
        var (_, b) = await StartBehindProxyAsync();
        var admin = await a.FirstRunAsync(InitializedServer.AllMenus);
        await CreatePoolAsync(a, admin);
        var cell = await JoinAsync(a, admin, $"ca_{_suffix}");
        cell.Answer = c => c.CreateInstance is not null ? null : Answer(c);
        var guest = await CreateAsync(a, admin, "watched", $"ca_{_suffix}");
        await Wait.ForAsync(() => Task.FromResult(cell.Commands.Any(c => c.CreateInstance is not null)));
        var operation = (await ScalarsAsync<Guid>($"SELECT id FROM operations WHERE target = '{guest}'")).Single().ToString();

        var client = new Contracts.V1.OperationService.OperationServiceClient(b.Channel);
        using var watch = client.WatchOperation(new Contracts.V1.WatchOperationRequest { Id = operation }, TestServer.Call(admin));
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.False(watch.ResponseStream.Current.Data.Finished);
        Assert.Equal(0, (await b.Rest.DeleteAsync($"/api/v1/operations/{operation}", null, admin)).ErrorCode);
        Assert.Equal("cancelled", (await EndOfAsync(watch.ResponseStream)).State);
        await Wait.ForAsync(() => Task.FromResult(cell.Commands.Any(c => c.DeleteInstance?.GuestId == guest)));
        await Wait.ForAsync(async () => (await ScalarsAsync<string>($"SELECT name FROM guests WHERE id = '{guest}'")).Count == 0);
    }

    /// <summary>A cell whose stream A holds reports metrics; a status watch on B sees them.</summary>
    [Fact]
    public async Task ACellsStatus_ReportedToOneReplica_IsWatchedOnAnother()
    {
        var (_, a) = await StartBehindProxyAsync();
        var (_, b) = await StartBehindProxyAsync();
        var admin = await a.FirstRunAsync(InitializedServer.AllMenus);
        await CreatePoolAsync(a, admin);
        var cell = await JoinAsync(a, admin, $"ca_{_suffix}");
        var client = new Contracts.V1.ZoneService.ZoneServiceClient(b.Channel);
        using var call = client.WatchCellStatus(new Contracts.V1.WatchCellStatusRequest { Pool = $"p_{_suffix}", IntervalMs = 500 }, TestServer.Call(admin));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await cell.MetricsAsync(new MetricsSample { CpuUsage = 42, AvailableMemory = 12345, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        while (call.ResponseStream.Current.Data.AvailableMemory != 12345)
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(42, call.ResponseStream.Current.Data.CpuUsage);
    }

    /// <summary>
    /// The leader (A) takes a cell whose stream B holds for dead (its row marked offline, as a leader does when the cell's
    /// last_seen is too old: B was too busy to write it in time): B's next write of its reports finds the row offline and
    /// closes the stream, and the agent's next hello brings the cell back. Before, B kept the live stream beating, its
    /// reports written for connected rows only, and the cell stayed offline as long as its agent lived.
    /// </summary>
    [Fact]
    public async Task ACellTakenForDeadByTheLeader_WhileItsStreamLivesOnAnotherReplica_IsClosedThere_AndComesBack()
    {
        var (_, _, b, admin) = await ALeaderAndASecondReplicaWithAPoolAsync();
        var cellName = $"cb_{_suffix}";
        var onB = await JoinAsync(b, admin, cellName);

        Assert.Equal(1, await ExecuteAsync($"UPDATE cells SET connected = false WHERE name = '{cellName}'"));
        await onB.Ended.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([false], await ScalarsAsync<bool>($"SELECT connected FROM cells WHERE name = '{cellName}'"));

        var back = await TestAgent.ConnectAsync(b.Channel, TestAgent.Hello(cellName, cores: 8), Answer);
        _owned.Add(back);
        _owned.Add(back.KeepAlive());
        await Task.Delay(TimeSpan.FromSeconds(2)); // reports written since: the new stream is the row's, and kept
        Assert.False(back.Ended.IsCompleted);
        Assert.Equal([true], await ScalarsAsync<bool>($"SELECT connected FROM cells WHERE name = '{cellName}'"));
    }

    /// <summary>
    /// Any replica serves any request: the cell's stream is on B; the guest is created through A (the command goes
    /// through B), its operation watched on C, then started through C, stopped through A, deleted through B.
    /// </summary>
    [Fact]
    public async Task ACellsStreamOnOneReplica_ServesGuestsCreatedWatchedAndChangedThroughTheOthers()
    {
        var (a, b, c, admin) = await ThreeReplicasWithAPoolAsync();
        var cell = await JoinAsync(b, admin, $"cb_{_suffix}");
        cell.Answer = c => c.StartInstance is not null
            ? new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.StartInstance.GuestId, State = DomainState.Running } }
            : Answer(c);
        var guest = await CreateAsync(a, admin, "through", $"cb_{_suffix}");
        var operation = (await ScalarsAsync<Guid>($"SELECT id FROM operations WHERE target = '{guest}'")).Single().ToString();
        var client = new Contracts.V1.OperationService.OperationServiceClient(c.Channel);
        using (var watch = client.WatchOperation(new Contracts.V1.WatchOperationRequest { Id = operation }, TestServer.Call(admin)))
        {
            var last = await EndOfAsync(watch.ResponseStream);
            Assert.True(last.State == "succeeded", last.ToString());
        }
        Assert.Contains(cell.Commands, c => c.CreateInstance?.GuestId == guest);

        Assert.Equal(0, (await c.Rest.PostAsync($"/api/v1/instances/{guest}", new { }, admin)).ErrorCode);
        Assert.Contains(cell.Commands, c => c.StartInstance?.GuestId == guest);
        Assert.Equal(0, (await a.Rest.DeleteAsync($"/api/v1/instances/{guest}", new { force = true }, admin)).ErrorCode);
        Assert.Contains(cell.Commands, c => c.StopInstance?.GuestId == guest);
        Assert.Equal(0, (await b.Rest.DeleteAsync($"/api/v1/guests/{guest}", null, admin)).ErrorCode);
        await Wait.ForAsync(async () => (await ScalarsAsync<string>($"SELECT name FROM guests WHERE id = '{guest}'")).Count == 0);
        Assert.Contains(cell.Commands, c => c.DeleteInstance?.GuestId == guest);
    }

    /// <summary>
    /// The replica holding the cell's stream stops while a creation sent through another replica waits on the cell: the
    /// cell's agent connects to a third replica, the same command (same id) goes to it there, and the creation finishes.
    /// </summary>
    [Fact]
    public async Task TheReplicaHoldingACellsStream_GoneMidCreation_TheCommandReachesTheCellOnItsNewReplica()
    {
        var (a, b, c, admin) = await ThreeReplicasWithAPoolAsync();
        var cellName = $"cb_{_suffix}";
        var onB = await JoinAsync(b, admin, cellName);
        onB.Answer = c => c.CreateInstance is not null ? null : Answer(c); // B goes before the cell answers
        var guest = await CreateAsync(a, admin, "moved", cellName);
        await Wait.ForAsync(() => Task.FromResult(onB.Commands.Any(c => c.CreateInstance is not null)));
        var sent = onB.Commands.First(c => c.CreateInstance is not null).Id;

        await b.DisposeAsync();
        var onC = await TestAgent.ConnectAsync(c.Channel, TestAgent.Hello(cellName, cores: 8), Answer);
        _owned.Add(onC);
        _owned.Add(onC.KeepAlive());
        await Wait.ForAsync(async () => await ScalarsAsync<string>($"SELECT state FROM operations WHERE target = '{guest}' AND finished_at IS NOT NULL") is ["succeeded"]);
        Assert.Equal([true], await ScalarsAsync<bool>($"SELECT created FROM guests WHERE id = '{guest}'"));
        Assert.Contains(onC.Commands, c => c.Id == sent && c.CreateInstance?.GuestId == guest);
    }

    /// <summary>
    /// Hostile callers of what replicas offer each other: the replica service without the zone's replica key, or with
    /// another, is UNAUTHENTICATED; a cell's fetch or push under a forged ticket naming a replica that does not exist is
    /// NOT_FOUND, not a fault of the server.
    /// </summary>
    [Fact]
    public async Task TheReplicaService_RefusesCallsWithoutTheKey_AndForgedTicketsAreNotFound()
    {
        var (_, a) = await StartBehindProxyAsync();
        var replica = new Contracts.Replica.V1.ReplicaService.ReplicaServiceClient(a.Channel);
        foreach (var key in new[] { null, "", "0000", new string('x', 64) })
        {
            var headers = key is null ? new Grpc.Core.Metadata() : new Grpc.Core.Metadata { { "nano-replica-key", key } };
            var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
                await replica.DescribeCellStreamAsync(new Contracts.Replica.V1.DescribeCellStreamRequest { Cell = "any" }, headers));
            Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, refused.StatusCode);
            using var run = replica.RunCommand(new Contracts.Replica.V1.RunCommandRequest { Cell = "any", Command = new Command { Id = "x" } }, headers);
            Assert.Equal(Grpc.Core.StatusCode.Unauthenticated,
                (await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => run.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
        }

        var cell = new CellAgentService.CellAgentServiceClient(a.Channel);
        var token = new Grpc.Core.Metadata { { "nano-cell-token", "test-token" } };
        var forged = $"{Guid.NewGuid():N}{Guid.NewGuid():N}";
        using var fetch = cell.FetchImage(new FetchImageRequest { Ticket = forged }, token);
        Assert.Equal(Grpc.Core.StatusCode.NotFound, (await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => fetch.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
        using var push = cell.PushImage(token);
        await push.RequestStream.WriteAsync(new PushImageRequest { Ticket = forged });
        await push.RequestStream.CompleteAsync();
        Assert.Equal(Grpc.Core.StatusCode.NotFound, (await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => push.ResponseAsync)).StatusCode);
    }

    /// <summary>A replica whose secrets key is not the zone's could not read the secrets the others sealed: it refuses to start, saying why.</summary>
    [Fact]
    public async Task AReplicaWithAnotherSecretsKey_RefusesToStart()
    {
        var (_, a) = await StartBehindProxyAsync();
        var other = Settings();
        other["Nano:DataDir"] = Path.Combine(Path.GetTempPath(), $"nano-test-data-{Guid.NewGuid():N}");
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => TestServer.StartAsync(_database, other));
        Assert.Contains("is not the key that seals this zone's stored secrets", refused.Message);
        Assert.Equal([a.GrpcUrl], await ScalarsAsync<string>("SELECT grpc_url FROM replicas"));
    }

    /// <summary>The operation's states from a watch until its last one.</summary>
    private static async Task<Contracts.V1.Operation> EndOfAsync(Grpc.Core.IAsyncStreamReader<Contracts.V1.WatchOperationResponse> watch)
    {
        Contracts.V1.Operation last;
        do
        {
            Assert.True(await watch.MoveNext(CancellationToken.None));
            last = watch.Current.Data;
        }
        while (!last.Finished);
        return last;
    }

    /// <summary>Replica A, leading, then replica B; the first run done and a pool made through A.</summary>
    private async Task<(SocketProxy ProxyA, TestServer A, TestServer B, string Admin)> ALeaderAndASecondReplicaWithAPoolAsync()
    {
        var (proxyA, a) = await StartBehindProxyAsync();
        Assert.True(IsLeader(a) || await WaitLeaderAsync(a));
        var (_, b) = await StartBehindProxyAsync();
        var admin = await a.FirstRunAsync(InitializedServer.AllMenus);
        await CreatePoolAsync(a, admin);
        return (proxyA, a, b, admin);
    }

    /// <summary>Three replicas on the database, the first run done and a pool made through the first.</summary>
    private async Task<(TestServer A, TestServer B, TestServer C, string Admin)> ThreeReplicasWithAPoolAsync()
    {
        var (_, a) = await StartBehindProxyAsync();
        var (_, b) = await StartBehindProxyAsync();
        var (_, c) = await StartBehindProxyAsync();
        var admin = await a.FirstRunAsync(InitializedServer.AllMenus);
        await CreatePoolAsync(a, admin);
        return (a, b, c, admin);
    }

    /// <summary>
    /// Password guessing spread over the replicas (as a load balancer spreads it) counts as through one: failures through
    /// A and B in turn lock the client's address on both once they reach the limit together.
    /// </summary>
    [Fact]
    public async Task FailedLogins_AreCountedForTheZone_NotPerReplica()
    {
        var (_, a) = await StartBehindProxyAsync();
        var (_, b) = await StartBehindProxyAsync();
        await a.FirstRunAsync(InitializedServer.AllMenus);
        Task<RestAnswer> Login(TestServer server, string password) =>
            server.Rest.PostAsync("/api/v1/sessions/", new { user = InitializedServer.AdminName, password, nonce = "" });

        for (var i = 0; i < 5; i++) // the limit per address is 5: three through A, two through B
            JsonAssert.Failure(401, await Login(i % 2 == 0 ? a : b, $"Wrong{i}pass"));
        foreach (var replica in new[] { a, b })
        {
            var refused = await Login(replica, InitializedServer.AdminPassword);
            JsonAssert.Failure(429, refused);
            Assert.Contains("too many failed logins from 127.0.0.1", refused.Message);
        }
    }

    private static async Task<string> LoginAsync(TestServer server, string user, string password)
    {
        var login = await server.Rest.PostAsync("/api/v1/sessions/", new { user, password, nonce = "replica" });
        Assert.True(login.ErrorCode == 0, login.Text);
        return login.Data!["session"]!.GetValue<string>();
    }

    private static bool IsLeader(TestServer server) => server.Services.GetRequiredService<Leadership>().IsLeader;

    private static async Task<bool> WaitLeaderAsync(TestServer server)
    {
        try
        {
            await Wait.ForAsync(() => Task.FromResult(IsLeader(server)), TimeSpan.FromSeconds(15));
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task<(SocketProxy Proxy, TestServer Server)> StartBehindProxyAsync()
    {
        var proxy = new SocketProxy(_database);
        _owned.Add(proxy);
        var server = await TestServer.StartAsync(proxy.ConnectionString, Settings());
        _owned.Add(server);
        return (proxy, server);
    }

    private async Task CreatePoolAsync(TestServer server, string admin)
    {
        var rest = server.Rest;
        Assert.Equal(0, (await rest.PostAsync($"/api/v1/address_pools/net_{_suffix}", new { gateway = "10.40.0.1", provider = "dhcp", dns = new[] { "10.40.0.2" } }, admin)).ErrorCode);
        Assert.Equal(0, (await rest.PostAsync($"/api/v1/address_pools/net_{_suffix}/internal/ranges/10.40.0.10", new { end = "10.40.0.20", netmask = "255.255.255.0" }, admin)).ErrorCode);
        Assert.Equal(0, (await rest.PostAsync($"/api/v1/compute_pools/p_{_suffix}", new { network = $"net_{_suffix}" }, admin)).ErrorCode);
    }

    /// <summary>A scripted cell on <paramref name="server"/>'s stream, in the pool, with room for guests.</summary>
    private async Task<TestAgent> JoinAsync(TestServer server, string admin, string cell)
    {
        var agent = await TestAgent.ConnectAsync(server.Channel, TestAgent.Hello(cell, cores: 8), Answer);
        _owned.Add(agent);
        _owned.Add(agent.KeepAlive());
        Assert.Equal(0, (await server.Rest.PostAsync($"/api/v1/compute_pool_cells/p_{_suffix}/{cell}", null, admin)).ErrorCode);
        await agent.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
        await Wait.ForAsync(async () => (await server.Rest.GetAsync($"/api/v1/compute_cell_status/p_{_suffix}/{cell}", admin)).Data!["available_disk"]!.GetValue<long>() == 500L << 30);
        return agent;
    }

    /// <summary>A guest created through <paramref name="server"/>, placed on <paramref name="cell"/> (the other cell is disabled meanwhile).</summary>
    private async Task<string> CreateAsync(TestServer server, string admin, string name, string cell)
    {
        var others = await ScalarsAsync<string>($"SELECT name FROM cells WHERE pool = 'p_{_suffix}' AND name <> '{cell}'");
        foreach (var other in others)
            Assert.Equal(0, (await server.Rest.PutAsync($"/api/v1/compute_pool_cells/p_{_suffix}/{other}", new { enable = false }, admin)).ErrorCode);
        var created = await server.Rest.PostAsync("/api/v1/guests/",
            new { name, pool = $"p_{_suffix}", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB } }, admin);
        Assert.True(created.ErrorCode == 0, created.Text);
        foreach (var other in others)
            Assert.Equal(0, (await server.Rest.PutAsync($"/api/v1/compute_pool_cells/p_{_suffix}/{other}", new { enable = true }, admin)).ErrorCode);
        return created.Data!["id"]!.GetValue<string>();
    }

    /// <summary>Unpooled, and not through a proxy: the test's view of the database survives the cuts.</summary>
    private NpgsqlConnection Connection() => new(new NpgsqlConnectionStringBuilder(_database) { Pooling = false }.ConnectionString);

    private async Task<int> ExecuteAsync(string sql)
    {
        await using var c = Connection();
        return await c.ExecuteAsync(sql);
    }

    private async Task<List<T>> ScalarsAsync<T>(string sql)
    {
        await using var c = Connection();
        return (await c.QueryAsync<T>(sql)).AsList();
    }

    private static CommandResult Answer(Command c) => c.BodyCase switch
    {
        Command.BodyOneofCase.CreateInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.CreateInstance.GuestId, State = DomainState.Stopped } },
        Command.BodyOneofCase.DeleteInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.DeleteInstance.GuestId } },
        Command.BodyOneofCase.InspectInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.InspectInstance.GuestId } },
        _ => new CommandResult { Id = c.Id, Storage = TestAgent.LocalStorage("/var/lib/nano/images") },
    };
}
