using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Dapper;
using Nano.Libvirt;
using Nano.Testing;
using Npgsql;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// Issue 14, the fault suite's first case, on real KVM: nano-server killed (SIGKILL) while ten guest creations run on a
/// real cell, then started again on the same database and data folder. Once recovery is done no guest is left not created,
/// no operation unfinished, every guest row has its domain and every domain of the cell its row.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CrashRecoveryTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "e2e-crash-token";
    private const long MiB = 1L << 20;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);
    private readonly string _work = Directory.CreateTempSubdirectory("nano-e2e-crash-").FullName;
    private readonly string _cell = $"crash-{Guid.NewGuid():N}"[..16];
    private readonly int _rest = Nano.Testing.TestServer.FreePort();
    private readonly int _grpc = Nano.Testing.TestServer.FreePort();
    private string _database = "";
    private WatchedProcess? _server;
    private AgentProcess? _agent;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists("/var/run/libvirt/libvirt-sock"), "libvirtd is not running: run the suite through ./tools/test, which starts it");
        _database = await TestDatabase.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        if (_agent is not null)
            await _agent.DisposeAsync();
        if (_server is { HasExited: false })
            _server.Kill();
        _server?.Dispose();
        LeftoverDomains.Remove(_cell);
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task TheServerKilledDuringTenCreations_LeavesNoGuestStuck_AndNoDomainWithoutARow_OnceItIsBack()
    {
        _server = await StartServerAsync();
        using var rest = new RestClient(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_rest}") });
        Assert.Equal(0, (await rest.PostAsync("/api/v1/system/", new { user = "admin", password = "Adm1nPassword", menu = InitializedServer.AllMenus })).ErrorCode);
        var admin = (await rest.PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "n" })).Data!["session"]!.GetValue<string>();
        _agent = AgentProcess.Start("--server", $"http://127.0.0.1:{_grpc}", "--token", Token, "--name", _cell, "--address", "127.0.0.1",
            "--libvirt-uri", "qemu:///system", "--storage-path", Path.Combine(_work, "images"), "--mount-root", Path.Combine(_work, "mounts"),
            "--state-file", Path.Combine(_work, "cell.json"));
        await WaitForAsync(async () => (await rest.GetAsync("/api/v1/compute_pool_cells/", admin)).Data!.AsArray().Any(c => c!["name"]!.GetValue<string>() == _cell));
        Assert.Equal(0, (await rest.PostAsync($"/api/v1/compute_pool_cells/default/{_cell}", null, admin)).ErrorCode);
        await WaitForAsync(async () => (await rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", admin)).Data!["available_memory"]!.GetValue<long>() > 0);

        // Ten creations at once; 0.15 s later the server dies without a word.
        var posts = Enumerable.Range(0, 10).Select(i => Task.Run(async () =>
        {
            try
            {
                await rest.PostAsync("/api/v1/guests/", new { name = $"c{i}", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB } }, admin);
            }
            catch (HttpRequestException)
            {
                // The answer was cut off with the server: what it recorded is in the database.
            }
        })).ToList();
        await Task.Delay(150);
        _server.Kill();
        await _server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(posts);
        var (rows, unsettled) = await CountsAsync();
        output.WriteLine($"after the kill: {rows} guest rows, {unsettled} not created; {await UnfinishedAsync()} unfinished operations");

        _server.Dispose();
        var restarted = Stopwatch.StartNew();
        _server = await StartServerAsync();
        await WaitForAsync(async () => (await CountsAsync()).Unsettled == 0 && await UnfinishedAsync() == 0);
        var recovered = restarted.Elapsed;

        await using var db = new NpgsqlConnection(_database);
        var ids = (await db.QueryAsync<Guid>("SELECT id FROM guests")).Select(g => g.ToString()).Order().ToList();
        var ops = (await db.QueryAsync<(string State, int Count)>("SELECT state, count(*)::int FROM operations WHERE kind = 'create_guest' GROUP BY state")).ToList();
        using var libvirt = Connection.Open("qemu:///system");
        var domains = new List<string>();
        foreach (var domain in libvirt.ListDomains())
        {
            using (domain)
            {
                if (DomainOwner.Of(domain) is { } owner && owner.Cell == _cell)
                    domains.Add(owner.GuestId);
            }
        }
        var files = Directory.Exists(Path.Combine(_work, "images"))
            ? Directory.GetFiles(Path.Combine(_work, "images"), "*_*").Select(f => Path.GetFileName(f)[..36]).Distinct().Order().ToList()
            : [];
        output.WriteLine($"recovered {recovered.TotalSeconds:0.0} s after the restart: {ids.Count} guests kept, operations {string.Join(", ", ops.Select(o => $"{o.State} {o.Count}"))}, " +
            $"{domains.Count} domains, files of {files.Count} guests, 0 stuck");
        Assert.Equal(ids, domains.Order());
        Assert.Equal(ids, files);
        Assert.Equal(0, (await CountsAsync()).Unsettled);

        // Every guest kept is whole: it is deleted like any other, and nothing is left. (The agent rejoins the restarted
        // server on its own schedule, which may come after the recovery: deleting needs the cell.)
        await WaitForAsync(async () => (await rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", admin)).Data?["alive"]?.GetValue<bool>() == true);
        foreach (var id in ids)
        {
            var deleted = await rest.DeleteAsync($"/api/v1/guests/{id}", null, admin);
            Assert.True(deleted.ErrorCode == 0, deleted.Text);
        }
        Assert.DoesNotContain(libvirt.ListDomains(), d => { using (d) return DomainOwner.Of(d)?.Cell == _cell; });
    }

    private Task<WatchedProcess> StartServerAsync() => ServerProcess.StartAsync("nano-server", _database, _rest, _grpc, Path.Combine(_work, "data"), Token,
        ("Nano:CellCommandTimeoutSeconds", "30"), ("Nano:RecoveryWaitSeconds", "120"));

    private async Task<(long Rows, long Unsettled)> CountsAsync()
    {
        await using var db = new NpgsqlConnection(_database);
        return await db.QuerySingleAsync<(long, long)>("SELECT count(*), count(*) FILTER (WHERE NOT created OR migrating) FROM guests");
    }

    private async Task<long> UnfinishedAsync()
    {
        await using var db = new NpgsqlConnection(_database);
        return await db.ExecuteScalarAsync<long>("SELECT count(*) FROM operations WHERE finished_at IS NULL");
    }

    private static Task WaitForAsync(Func<Task<bool>> condition) => Wait.ForAsync(condition, Patience, TimeSpan.FromMilliseconds(250));
}
