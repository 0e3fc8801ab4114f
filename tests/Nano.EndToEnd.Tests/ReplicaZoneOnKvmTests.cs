using System.Diagnostics;
using Dapper;
using Grpc.Net.Client;
using Nano.Contracts.V1;
using Nano.Libvirt;
using Nano.Testing;
using Npgsql;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// Issue 16 on real processes: three nano-server replicas (A, B, C) on one database and one data folder, and two real
/// nano-cell agents (X and Y) on this libvirtd, each given all three replicas in its own order, in a failover pool on a
/// shared folder. Replicas die as processes do: SIGKILL, no goodbye, their registry rows left to age.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ReplicaZoneOnKvmTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "e2e-replicas-token";
    private const string Pool = "ha";
    private const long MiB = 1L << 20;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    /// <summary>The replica liveness window (Nano:ReplicaLivenessSeconds, its default).</summary>
    private static readonly TimeSpan ReplicaLiveness = TimeSpan.FromSeconds(6);

    private readonly string _work = Directory.CreateTempSubdirectory("nano-e2e-replicas-").FullName;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private readonly string _bridge = $"nr{Guid.NewGuid():N}"[..10];
    private readonly Dictionary<string, Replica> _replicas = [];
    private readonly Dictionary<string, AgentProcess> _agents = [];
    private string _database = "";
    private string _admin = "";

    private string X => $"rx-{_suffix}";

    private string Y => $"ry-{_suffix}";

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists("/var/run/libvirt/libvirt-sock"), "libvirtd is not running: run the suite through ./tools/test, which starts it");
        _database = await TestDatabase.CreateAsync();
        Run("ip", "link", "add", _bridge, "type", "bridge");
        Run("ip", "link", "set", _bridge, "up");
        try
        {
            // Two at once on the fresh database (migrations run once), then the third.
            var first = new[] { "A", "B" }.Select(n => Task.Run(() => StartReplicaAsync(n))).ToList();
            await Task.WhenAll(first);
            await StartReplicaAsync("C");
            var a = _replicas["A"].Rest;
            Assert.Equal(0, (await a.PostAsync("/api/v1/system/", new { user = "admin", password = "Adm1nPassword", menu = InitializedServer.AllMenus })).ErrorCode);
            _admin = (await a.PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "n" })).Data!["session"]!.GetValue<string>();
            var shared = Directory.CreateDirectory(Path.Combine(_work, "shared")).FullName;
            Assert.Equal(0, (await a.PostAsync($"/api/v1/storage_pools/{Pool}-folder", new { type = "shared", target = shared }, _admin)).ErrorCode);
            Assert.Equal(0, (await a.PostAsync($"/api/v1/compute_pools/{Pool}", new { storage = $"{Pool}-folder", failover = true }, _admin)).ErrorCode);

            // X's stream starts on B, Y's on C.
            _agents[X] = StartAgent(X, "B", "C", "A");
            _agents[Y] = StartAgent(Y, "C", "A", "B");
            foreach (var (cell, replica) in new[] { (X, "B"), (Y, "C") })
            {
                await _agents[cell].WaitForOutputAsync($"Joined {_replicas[replica].GrpcUrl}", Patience);
                await WaitForAsync(async () => (await a.GetAsync("/api/v1/compute_pool_cells/", _admin)).Data!.AsArray().Any(c => c!["name"]!.GetValue<string>() == cell));
                var added = await a.PostAsync($"/api/v1/compute_pool_cells/{Pool}/{cell}", null, _admin);
                Assert.True(added.ErrorCode == 0, added.Text);
                await WaitForAsync(async () => (await a.GetAsync($"/api/v1/compute_cell_status/{Pool}/{cell}", _admin)).Data!["available_memory"]!.GetValue<long>() > 0);
            }
            Assert.Equal("B", await StreamHolderAsync(X));
            Assert.Equal("C", await StreamHolderAsync(Y));
        }
        catch
        {
            await DisposeAsync(); // xunit does not dispose a test whose set-up failed
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents.Values)
            await agent.DisposeAsync();
        foreach (var replica in _replicas.Values)
            replica.Dispose();
        LeftoverDomains.Remove(X);
        LeftoverDomains.Remove(Y);
        Run("ip", "link", "del", _bridge);
        Directory.Delete(_work, recursive: true);
    }

    /// <summary>
    /// A guest created through A on cell X, whose stream B holds, from a disk image uploaded through C (X fetches it through
    /// B), watched to its end through C, then stopped and started again through each replica in turn; its console asked of
    /// A and opened on C; cloned back into an image through C and downloaded through A; deleted. Then B is killed with SIGKILL right after a
    /// second creation on X was sent: X's agent moves to another replica within the liveness window and the cell is never
    /// seen offline, the creation ends whole (created, its domain running) or undone (no row, no domain, no file), and no
    /// guest is failed over.
    /// </summary>
    [Fact]
    public async Task AGuestThroughEveryReplica_AndTheReplicaHoldingItsCellKilledMidCreation_NothingHalfDone_NothingFailedOver()
    {
        // Its disk image uploaded through C, into the store the replicas share; X fetches it through B.
        var basePath = Path.Combine(_work, "base.qcow2");
        Run("qemu-img", "create", "-q", "-f", "qcow2", basePath, "64M");
        Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x3c 0 4M", basePath);
        var image = (await _replicas["C"].Rest.PostAsync("/api/v1/disk_images/", new { name = "replicated" }, _admin)).Data!["id"]!.GetValue<string>();
        await using (var file = File.OpenRead(basePath))
        {
            var sha1 = Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(await File.ReadAllBytesAsync(basePath)));
            var uploaded = await _replicas["C"].Rest.UploadAsync($"/api/v1/disk_images/{image}/file/", file, sha1, _admin);
            Assert.True(uploaded.ErrorCode == 0, uploaded.Text);
        }
        var guest = await CreateOnAsync("A", X, "through", image);
        var operation = await OperationOfAsync(guest);
        using (var channel = GrpcChannel.ForAddress(_replicas["C"].GrpcUrl))
        using (var watch = new OperationService.OperationServiceClient(channel).WatchOperation(new WatchOperationRequest { Id = operation }, TestServer.Call(_admin)))
        {
            var states = new List<string>();
            Operation last;
            do
            {
                Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None), $"the watch through C ended after {string.Join(", ", states)}");
                last = watch.ResponseStream.Current.Data;
                states.Add($"{last.State} {last.Stage} {last.Percent}%");
            }
            while (!last.Finished);
            output.WriteLine($"created through A on X (stream on B), watched through C: {string.Join(" → ", states)}");
            Assert.True(last.State == "succeeded", last.ToString());
        }
        Assert.Equal(DomainState.Running, DomainStateOf(guest)); // auto_start
        foreach (var name in new[] { "A", "B", "C" })
        {
            var rest = _replicas[name].Rest;
            var stopped = await rest.DeleteAsync($"/api/v1/instances/{guest}", new { force = true }, _admin);
            Assert.True(stopped.ErrorCode == 0, $"stop through {name}: {stopped.Text}");
            await WaitForAsync(() => Task.FromResult(DomainStateOf(guest) != DomainState.Running));
            var started = await rest.PostAsync($"/api/v1/instances/{guest}", new { }, _admin);
            Assert.True(started.ErrorCode == 0, $"start through {name}: {started.Text}");
            await WaitForAsync(() => Task.FromResult(DomainStateOf(guest) == DomainState.Running));
            Assert.True((await rest.GetAsync($"/api/v1/guests/{guest}", _admin)).Data!["running"]!.GetValue<bool>());
        }
        // Its console: a channel asked of A, the browser's socket on C, the guest's VNC on X behind B.
        var console = await _replicas["A"].Rest.PostAsync("/api/v1/monitor_channels/", new { guest }, _admin);
        Assert.True(console.ErrorCode == 0, console.Text);
        Assert.Equal("RFB 003.008\n", await ConsoleBanner.ReadAsync(_replicas["C"].RestUrl.Replace("http", "ws") + $"/api/v1/monitor_channels/{console.Data!["id"]}"));

        // Cloned back into an image through C (X pushes it through B), and downloaded whole through A.
        Assert.Equal(0, (await _replicas["C"].Rest.DeleteAsync($"/api/v1/instances/{guest}", new { force = true }, _admin)).ErrorCode);
        var clone = (await _replicas["C"].Rest.PostAsync("/api/v1/disk_images/", new { name = "replicated-clone", guest }, _admin)).Data!["id"]!.GetValue<string>();
        await WaitForAsync(async () => await ScalarAsync<string>($"SELECT state FROM operations WHERE target = '{clone}' AND finished_at IS NOT NULL") is "succeeded");
        var cloned = (await _replicas["A"].Rest.GetAsync($"/api/v1/disk_images/{clone}", _admin)).Data!;
        Assert.True(cloned["created"]!.GetValue<bool>(), cloned.ToJsonString());
        Assert.Equal(cloned["size"]!.GetValue<long>(), await DownloadedBytesAsync(_replicas["A"], $"/api/v1/disk_images/{clone}/file"));

        Assert.Equal(0, (await _replicas["C"].Rest.DeleteAsync($"/api/v1/guests/{guest}", null, _admin)).ErrorCode);
        Assert.Null(DomainStateOf(guest));
        foreach (var id in new[] { clone, image })
            Assert.Equal(0, (await _replicas["B"].Rest.DeleteAsync($"/api/v1/disk_images/{id}", null, _admin)).ErrorCode);

        // B dies while X works on a creation sent through A.
        using var watching = new CancellationTokenSource();
        var seen = new List<bool?>();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                seen.Add(await AliveThroughAsync("A", X));
                await Task.Delay(200);
            }
        });
        var second = await CreateOnAsync("A", X, "cut");
        _replicas["B"].Kill();
        var killed = Stopwatch.StartNew();
        var unfinishedAtKill = await ScalarAsync<bool>($"SELECT finished_at IS NULL FROM operations WHERE target = '{second}'");
        await WaitForAsync(async () => await StreamHolderAsync(X) is "A" or "C");
        var moved = killed.Elapsed;
        var holder = (await StreamHolderAsync(X))!;
        await WaitForAsync(async () => await ScalarAsync<bool>($"SELECT finished_at IS NOT NULL FROM operations WHERE target = '{second}'"));
        var ended = killed.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(12)); // past the cell liveness window (10 s) and the failover grace (3 s)
        await watching.CancelAsync();
        await watcher;

        var state = await ScalarAsync<string>($"SELECT state FROM operations WHERE target = '{second}'");
        var row = await ScalarAsync<bool?>($"SELECT created FROM guests WHERE id = '{second}'");
        var files = Directory.GetFiles(Path.Combine(_work, "shared"), $"{second}_*");
        output.WriteLine($"B killed with the creation {(unfinishedAtKill ? "unfinished" : "already finished")}; X's stream on {holder} after {moved.TotalMilliseconds:0} ms " +
            $"(replica liveness {ReplicaLiveness.TotalSeconds} s); the creation {state} after {ended.TotalMilliseconds:0} ms; {seen.Count} looks at X, all alive: {seen.All(s => s == true)}");
        Assert.True(moved < ReplicaLiveness, $"X reached another replica after {moved.TotalMilliseconds} ms");
        Assert.True(seen.Count > 40, $"{seen.Count} looks");
        Assert.All(seen, alive => Assert.True(alive == true, $"X was seen {(alive is null ? "missing" : "offline")} while it moved"));
        if (state == "succeeded")
        {
            Assert.Equal(true, row);
            Assert.Equal(DomainState.Running, DomainStateOf(second));
            Assert.NotEmpty(files);
            Assert.Equal(X, (await _replicas[holder].Rest.GetAsync($"/api/v1/guests/{second}", _admin)).Data!["cell"]!.GetValue<string>());
        }
        else
        {
            Assert.Equal("failed", state);
            Assert.Null(row);
            Assert.Null(DomainStateOf(second));
            Assert.Empty(files);
        }
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM operations WHERE kind = 'failover_guest'"));
        Assert.Equal(0L, await ScalarAsync<long>("SELECT count(*) FROM operations WHERE finished_at IS NULL"));
    }

    /// <summary>
    /// The leader killed with SIGKILL: another replica takes the lease within seconds and the leader's duties go on there,
    /// the session sweep (an expired session is deleted) and failover (Y's agent killed, its running guest comes up on X).
    /// </summary>
    [Fact]
    public async Task TheLeaderKilled_AnotherReplicaLeads_AndTheSessionSweepAndFailoverGoOnThere()
    {
        var guest = await CreateOnAsync("A", Y, "survivor");
        await WaitForAsync(async () => await ScalarAsync<string>($"SELECT state FROM operations WHERE target = '{guest}' AND finished_at IS NOT NULL") is "succeeded");
        Assert.Equal(DomainState.Running, DomainStateOf(guest));

        var leader = await LeaderAsync();
        Assert.NotNull(leader);
        _replicas[leader!].Kill();
        var killed = Stopwatch.StartNew();
        var expired = $"expired-{_suffix}";
        await using (var db = new NpgsqlConnection(_database))
            await db.ExecuteAsync("INSERT INTO sessions (id, user_name, expires_at) VALUES (@expired, 'admin', now() - interval '3 hours')", new { expired });
        await WaitForAsync(async () => await LeaderAsync() is { } now && now != leader);
        var led = killed.Elapsed;
        var next = (await LeaderAsync())!;
        await WaitForAsync(async () => await ScalarAsync<long>($"SELECT count(*) FROM sessions WHERE id = '{expired}'") == 0);
        var swept = killed.Elapsed;

        var survivor = _replicas.Keys.First(r => r != leader);
        await _agents[Y].KillAsync(); // its guest keeps running in libvirtd, as on a host whose agent died
        var lost = Stopwatch.StartNew();
        await WaitForAsync(async () => (await _replicas[survivor].Rest.GetAsync($"/api/v1/guests/{guest}", _admin)).Data is System.Text.Json.Nodes.JsonObject g
            && g["cell"]!.GetValue<string>() == X && g["running"]!.GetValue<bool>());
        var failedOver = lost.Elapsed;
        output.WriteLine($"leader {leader} killed; {next} leads after {led.TotalMilliseconds:0} ms; the expired session swept after {swept.TotalMilliseconds:0} ms; " +
            $"Y's agent killed → its guest running on X after {failedOver.TotalMilliseconds:0} ms (cell liveness 10 s, failover grace 3 s)");
        Assert.True(led < ReplicaLiveness * 2, $"no new leader until {led.TotalMilliseconds} ms");
        Assert.Equal(DomainState.Running, DomainStateOf(guest));
        using (var libvirt = Connection.Open("qemu:///system"))
        using (var domain = libvirt.FindDomain(guest)!)
            Assert.Equal(X, DomainOwner.Of(domain)!.Cell);
        // The guest shows running on X a moment before its failover's operation is marked finished.
        await WaitForAsync(async () => await ScalarAsync<long>($"SELECT count(*) FROM operations WHERE kind = 'failover_guest' AND target = '{guest}' AND state = 'succeeded'") == 1);
    }

    /// <summary>Which replica (A, B or C) holds the cell's stream, as the registry says; null when none does.</summary>
    private async Task<string?> StreamHolderAsync(string cell)
    {
        var url = await ScalarAsync<string?>($"SELECT r.grpc_url FROM cells c JOIN replicas r ON r.id = c.replica WHERE c.name = '{cell}' AND c.connected");
        return _replicas.FirstOrDefault(r => r.Value.GrpcUrl == url).Key;
    }

    /// <summary>Which replica holds the leader lease (unexpired); null when none does.</summary>
    private async Task<string?> LeaderAsync()
    {
        var url = await ScalarAsync<string?>("SELECT r.grpc_url FROM leases l JOIN replicas r ON r.id = l.replica WHERE l.name = 'leader' AND l.expires_at > now()");
        return _replicas.FirstOrDefault(r => r.Value.GrpcUrl == url).Key;
    }

    /// <summary>The cell as a replica lists it in the pool: alive or not; null when it is not listed or the answer failed.</summary>
    private async Task<bool?> AliveThroughAsync(string replica, string cell)
    {
        try
        {
            var cells = await _replicas[replica].Rest.GetAsync($"/api/v1/compute_pool_cells/{Pool}", _admin);
            return cells.Data?.AsArray().FirstOrDefault(c => c!["name"]!.GetValue<string>() == cell)?["alive"]?.GetValue<bool>();
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>How many bytes a download from <paramref name="replica"/> gives.</summary>
    private async Task<long> DownloadedBytesAsync(Replica replica, string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Nano-Session", _admin);
        using var response = await replica.Rest.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = await body.ReadAsync(buffer)) > 0)
            total += n;
        return total;
    }

    /// <summary>A 64 MiB guest started at creation, created through <paramref name="replica"/> on <paramref name="cell"/> (the other cell disabled meanwhile).</summary>
    private async Task<string> CreateOnAsync(string replica, string cell, string name, string? image = null)
    {
        var rest = _replicas[replica].Rest;
        var other = cell == X ? Y : X;
        Assert.Equal(0, (await rest.PutAsync($"/api/v1/compute_pool_cells/{Pool}/{other}", new { enable = false }, _admin)).ErrorCode);
        var created = await rest.PostAsync("/api/v1/guests/",
            new { name, pool = Pool, template = "0qodbfbd15imbt3g0004", cores = 1, memory = 64 * MiB, disks = new[] { 256 * MiB }, auto_start = true, from_image = image }, _admin);
        Assert.True(created.ErrorCode == 0, created.Text);
        if (!_agents[other].HasExited)
            Assert.Equal(0, (await rest.PutAsync($"/api/v1/compute_pool_cells/{Pool}/{other}", new { enable = true }, _admin)).ErrorCode);
        return created.Data!["id"]!.GetValue<string>();
    }

    private async Task<string> OperationOfAsync(string guest) =>
        (await ScalarAsync<Guid>($"SELECT id FROM operations WHERE target = '{guest}' AND kind = 'create_guest'")).ToString();

    /// <summary>The guest's domain state on this libvirtd; null when it has no domain.</summary>
    private static DomainState? DomainStateOf(string guest)
    {
        using var libvirt = Connection.Open("qemu:///system");
        using var domain = libvirt.FindDomain(guest);
        return domain?.GetState();
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var db = new NpgsqlConnection(_database);
        return (await db.QueryAsync<T>(sql)).FirstOrDefault()!;
    }

    private async Task StartReplicaAsync(string name)
    {
        var (rest, grpc) = (TestServer.FreePort(), TestServer.FreePort());
        var process = await ServerProcess.StartAsync($"nano-server {name}", _database, rest, grpc, Path.Combine(_work, "data"), Token,
            ("Nano:CellMetricsIntervalMs", "1000"), ("Nano:CellCommandTimeoutSeconds", "30"), ("Nano:FailoverGraceSeconds", "3"));
        lock (_replicas)
            _replicas[name] = new Replica(process, rest, grpc);
    }

    private AgentProcess StartAgent(string cell, params string[] replicas) => AgentProcess.Start(
        "--server", string.Join(',', replicas.Select(r => _replicas[r].GrpcUrl)), "--token", Token, "--name", cell, "--address", "127.0.0.1",
        "--libvirt-uri", "qemu:///system", "--bridge", _bridge, "--storage-path", Path.Combine(_work, $"images-{cell}"),
        "--mount-root", Path.Combine(_work, $"mounts-{cell}"), "--state-file", Path.Combine(_work, $"{cell}.json"));

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(file, args);
        process.WaitForExit();
    }

    private static Task WaitForAsync(Func<Task<bool>> condition) => Wait.ForAsync(condition, Patience, TimeSpan.FromMilliseconds(100));

    /// <summary>A nano-server process of the zone, on its own REST and gRPC ports.</summary>
    private sealed class Replica(WatchedProcess process, int restPort, int grpcPort) : IDisposable
    {
        public WatchedProcess Process { get; } = process;

        public string GrpcUrl { get; } = $"http://127.0.0.1:{grpcPort}";

        public string RestUrl { get; } = $"http://127.0.0.1:{restPort}";

        public RestClient Rest { get; } = new(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{restPort}"), Timeout = TimeSpan.FromSeconds(60) });

        /// <summary>SIGKILL: the replica dies without a word.</summary>
        public void Kill() => Process.Kill();

        public void Dispose()
        {
            if (!Process.HasExited)
                Process.Kill();
            Process.Dispose();
        }
    }
}
