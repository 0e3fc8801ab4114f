using System.Globalization;
using Nano.Testing;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// The server, a real nano-cell process and the host's libvirtd (qemu:///system). The test command
/// installs and starts libvirtd; without it these tests fail rather than skip.
/// </summary>
public sealed class CellOnKvmTests : IAsyncLifetime
{
    private const string Token = "e2e-join-token";
    private static readonly TimeSpan Join = TimeSpan.FromSeconds(60);

    private readonly string _work = Directory.CreateTempSubdirectory("nano-e2e-").FullName;
    private readonly string _cell = $"e2e-{Guid.NewGuid():N}"[..16];
    private InitializedServer _zone = null!;

    private RestClient Rest => _zone.Rest;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists("/var/run/libvirt/libvirt-sock"), "libvirtd is not running: run the suite through ./tools/test, which starts it");
        _zone = new ZoneUnderTest(TlsFolder);
        await _zone.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _zone.DisposeAsync();
        }
        catch (ObjectDisposedException)
        {
            // The restart test stopped this server itself.
        }
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task TheAgent_RegistersTheHostAsItIs_AndReportsLiveMetrics()
    {
        await using var agent = StartAgent(Token);
        await WaitForCellAsync(alive: true);

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/default/{_cell}", null, _zone.AdminSession)).ErrorCode);
        await WaitForAsync(async () => (await CellStatusAsync())["available_memory"]!.GetValue<long>() > 0);

        var status = await CellStatusAsync();
        Assert.Equal(Environment.ProcessorCount, status["max_cpu"]!.GetValue<int>());
        Assert.Equal(MemTotal(), status["max_memory"]!.GetValue<long>());
        Assert.InRange(status["available_memory"]!.GetValue<long>(), 1, MemTotal());
        var drive = new DriveInfo(_work);
        Assert.Equal(drive.TotalSize, status["max_disk"]!.GetValue<long>());
        Assert.InRange(status["cpu_usage"]!.GetValue<double>(), 0, 100);
        Assert.True(status["alive"]!.GetValue<bool>());

        var storages = await Rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}/storages/", _zone.AdminSession);
        Assert.Equal($$"""{"mode":"local","system":["{{_work}}/images"],"data":["{{_work}}/images"]}""", storages.Data!.ToJsonString());
        var zone = await Rest.GetAsync("/api/v1/compute_zone_status/", _zone.AdminSession);
        Assert.Equal("[0,1]", zone.Data!["cells"]!.ToJsonString());
        Assert.Equal(Environment.ProcessorCount, zone.Data!["max_cpu"]!.GetValue<int>());
        Assert.Contains("Joined", agent.Output);
    }

    [Fact]
    public async Task AKilledAgent_GoesOffline_AndReturnsWhenRestarted()
    {
        var agent = StartAgent(Token);
        await WaitForCellAsync(alive: true);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/default/{_cell}", null, _zone.AdminSession)).ErrorCode);

        var killedAt = DateTime.UtcNow;
        await agent.KillAsync();
        await WaitForCellAsync(alive: false);
        Assert.True(DateTime.UtcNow - killedAt < TimeSpan.FromSeconds(15), "still alive 15 s after the agent died");
        await agent.DisposeAsync();

        await using var again = StartAgent(Token);
        await WaitForCellAsync(alive: true);
        Assert.Equal(0, (await Rest.GetAsync($"/api/v1/compute_pool_cells/default/{_cell}", _zone.AdminSession)).ErrorCode);
    }

    [Fact]
    public async Task AFrozenAgent_GoesOfflineWithinTheLivenessTimeout_AndRejoins()
    {
        await using var agent = StartAgent(Token);
        await WaitForCellAsync(alive: true);

        var frozenAt = DateTime.UtcNow;
        agent.Freeze();
        await WaitForCellAsync(alive: false);
        var silence = DateTime.UtcNow - frozenAt;
        Assert.True(silence < TimeSpan.FromSeconds(15), $"offline only after {silence.TotalSeconds:0.0} s");
        Assert.True(silence >= TimeSpan.FromSeconds(5), $"offline after {silence.TotalSeconds:0.0} s, before the timeout");

        agent.Thaw();
        await WaitForCellAsync(alive: true);
    }

    [Fact]
    public async Task AServerRestart_DoesNotNeedTheAgentRestarted()
    {
        await using var agent = StartAgent(Token);
        await WaitForCellAsync(alive: true);
        var (database, ports) = (_zone.Server.Database, (_zone.Server.RestPort, _zone.Server.GrpcPort));
        await _zone.Server.DisposeAsync();

        await using var restarted = await TestServer.StartAsync(database, new Dictionary<string, string?> { ["Nano:CellToken"] = Token, ["Nano:TlsFolder"] = TlsFolder }, ports);
        var deadline = DateTime.UtcNow + Join;
        while (true)
        {
            var cells = await restarted.Rest.GetAsync("/api/v1/compute_pool_cells/", _zone.AdminSession);
            if (cells.Data!.AsArray().Any(c => c!["name"]!.GetValue<string>() == _cell && c["alive"]!.GetValue<bool>()))
                break;
            Assert.True(DateTime.UtcNow < deadline, "the agent did not rejoin the restarted server within 60 s");
            await Task.Delay(200);
        }
        Assert.False(agent.HasExited);
    }

    [Fact]
    public async Task AnAgentThatDoesNotTrustTheServersCertificate_NeverJoins()
    {
        using (var other = Nano.Tls.ZoneCertificates.CreateAuthority("another zone"))
            Nano.Tls.ZoneCertificates.Write(other, Path.Combine(_work, "other-ca.pem"), Path.Combine(_work, "other-ca.key"));
        await using var agent = AgentProcess.Start(
            "--server", _zone.Server.GrpcUrl, "--ca-file", Path.Combine(_work, "other-ca.pem"), "--token", Token, "--name", _cell,
            "--libvirt-uri", "qemu:///system", "--storage-path", Path.Combine(_work, "images"),
            "--mount-root", Path.Combine(_work, "mounts"), "--state-file", Path.Combine(_work, "cell.json"));
        await agent.WaitForOutputAsync("SSL connection could not be established", Join);
        Assert.Null(await FindCellAsync());
    }

    [Fact]
    public async Task AnAgentToldToDialAnotherHostInClear_RefusesToStart()
    {
        await using var agent = AgentProcess.Start("--server", "http://192.0.2.1:5871", "--token", Token, "--name", _cell);
        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("--insecure", agent.Output);
    }

    [Fact]
    public async Task ABadToken_IsRefused()
    {
        await using var agent = StartAgent("not-the-token");
        await agent.WaitForOutputAsync("bad join token", Join);
        var cells = await Rest.GetAsync("/api/v1/compute_pool_cells/", _zone.AdminSession);
        Assert.DoesNotContain(cells.Data!.AsArray(), c => c!["name"]!.GetValue<string>() == _cell);
    }

    private AgentProcess StartAgent(string token) => AgentProcess.Start(
        "--server", _zone.Server.GrpcUrl, "--ca-file", _zone.Server.CaFile!, "--token", token, "--name", _cell,
        "--libvirt-uri", "qemu:///system", "--storage-path", Path.Combine(_work, "images"),
        "--mount-root", Path.Combine(_work, "mounts"), "--state-file", Path.Combine(_work, "cell.json"));

    private async Task WaitForCellAsync(bool alive) => await WaitForAsync(async () =>
    {
        var cell = await FindCellAsync();
        return cell is not null && cell["alive"]!.GetValue<bool>() == alive;
    });

    private async Task<System.Text.Json.Nodes.JsonNode?> FindCellAsync()
    {
        foreach (var path in new[] { "/api/v1/compute_pool_cells/", "/api/v1/compute_pool_cells/default" })
        {
            var found = (await Rest.GetAsync(path, _zone.AdminSession)).Data!.AsArray().FirstOrDefault(c => c!["name"]!.GetValue<string>() == _cell);
            if (found is not null)
                return found;
        }
        return null;
    }

    private async Task<System.Text.Json.Nodes.JsonNode> CellStatusAsync() =>
        (await Rest.GetAsync($"/api/v1/compute_cell_status/default/{_cell}", _zone.AdminSession)).Data!;

    private static Task WaitForAsync(Func<Task<bool>> condition) => Wait.ForAsync(condition, Join, TimeSpan.FromMilliseconds(200));

    private static long MemTotal() =>
        long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    /// <summary>Default intervals (2 s heartbeats, 10 s liveness), the test's join token.</summary>
    private string TlsFolder => Path.Combine(_work, "tls");

    /// <summary>A zone served over TLS, its CA and certificate in <paramref name="tlsFolder"/> (a restart keeps them).</summary>
    private sealed class ZoneUnderTest(string tlsFolder) : InitializedServer(new Dictionary<string, string?>
    {
        ["Nano:CellToken"] = Token, ["Nano:CellMetricsIntervalMs"] = "1000", ["Nano:TlsFolder"] = tlsFolder,
    });
}
