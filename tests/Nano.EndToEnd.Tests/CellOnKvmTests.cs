using System.Globalization;
using Nano.Testing;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// The server, a real nano-cell process and the host's libvirtd (qemu:///system). The test command
/// installs and starts libvirtd; without it these tests fail rather than skip.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
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
        var (database, ports, data) = (_zone.Server.Database, (_zone.Server.RestPort, _zone.Server.GrpcPort), _zone.Server.DataDir);
        await _zone.Server.DisposeAsync();

        await using var restarted = await TestServer.StartAsync(database,
            new Dictionary<string, string?> { ["Nano:CellToken"] = Token, ["Nano:TlsFolder"] = TlsFolder, ["Nano:DataDir"] = data }, ports);
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

    /// <summary>An agent of this test with its own state file (and so its own credential), named <paramref name="name"/>.</summary>
    private AgentProcess StartAgentAs(string name, string state) => AgentProcess.Start(
        "--server", _zone.Server.GrpcUrl, "--ca-file", _zone.Server.CaFile!, "--token", Token, "--name", name,
        "--libvirt-uri", "qemu:///system", "--storage-path", Path.Combine(_work, $"images-{state}"),
        "--mount-root", Path.Combine(_work, $"mounts-{state}"), "--state-file", Path.Combine(_work, $"{state}.json"));

    [Fact]
    public async Task EachCell_EnrollsOnce_AndIsAdmittedByItsOwnCertificate_NotByTheTokenNorAnotherCellsCertificate()
    {
        await using var agent = StartAgent(Token);
        await WaitForCellAsync(alive: true);
        Assert.True(File.Exists(Path.Combine(_work, "cell.pem")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_work, "cell.key")));

        // Another agent with the token, under the enrolled name: no second certificate for that name.
        await using (var impostor = StartAgentAs(_cell, "impostor"))
            await impostor.WaitForOutputAsync($"cell '{_cell}' is enrolled already", Join);

        // The cell's own certificate, copied to another agent: it speaks for that cell only.
        File.Copy(Path.Combine(_work, "cell.pem"), Path.Combine(_work, "thief.pem"));
        File.Copy(Path.Combine(_work, "cell.key"), Path.Combine(_work, "thief.key"));
        await using (var thief = StartAgentAs($"{_cell}-t", "thief"))
            await thief.WaitForOutputAsync($"the certificate of cell '{_cell}' does not admit cell '{_cell}-t'", Join);
        Assert.DoesNotContain((await Rest.GetAsync("/api/v1/compute_pool_cells/", _zone.AdminSession)).Data!.AsArray(),
            c => c!["name"]!.GetValue<string>() == $"{_cell}-t");

        // The same certificate again while the cell's stream is alive: refused, the live stream stays.
        await using (var second = StartAgentAs(_cell, "cell"))
            await second.WaitForOutputAsync($"cell '{_cell}' is connected on a live stream", Join);
        Assert.True((await FindCellAsync())!["alive"]!.GetValue<bool>());

        // The join token alone, without a certificate, opens no stream and fetches nothing.
        var cells = new Nano.Contracts.Cell.V1.CellAgentService.CellAgentServiceClient(_zone.Server.Channel);
        using (var call = cells.Connect(deadline: DateTime.UtcNow.AddSeconds(30)))
        {
            await call.RequestStream.WriteAsync(new Nano.Contracts.Cell.V1.ConnectRequest
            {
                Hello = new Nano.Contracts.Cell.V1.Hello { Token = Token, Name = _cell, ProtocolVersion = (int)Nano.Contracts.Cell.V1.ProtocolVersion.Current, Address = "127.0.0.1" },
            });
            var refused = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, refused.StatusCode);
        }
        var fetch = cells.FetchImage(new Nano.Contracts.Cell.V1.FetchImageRequest { ImageId = Guid.NewGuid().ToString() },
            new Grpc.Core.Metadata { { "nano-cell-token", Token } });
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, (await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => fetch.ResponseStream.MoveNext(CancellationToken.None))).StatusCode);
        Assert.True((await FindCellAsync())!["alive"]!.GetValue<bool>());
    }

    [Fact]
    public async Task AReinstalledHost_EnrollsAgain_OnlyOnceItsCellIsOfflineAndInNoPool_AndTheOldCertificateStopsCounting()
    {
        await using (var agent = StartAgent(Token))
        {
            await WaitForCellAsync(alive: true);
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/default/{_cell}", null, _zone.AdminSession)).ErrorCode);
            await agent.StopAsync();
        }
        await WaitForCellAsync(alive: false);

        // Offline but in a pool: no new certificate for its name.
        await using (var reinstalled = StartAgentAs(_cell, "reinstalled"))
            await reinstalled.WaitForOutputAsync("take the cell out of its compute pool first", Join);

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/compute_pool_cells/default/{_cell}", session: _zone.AdminSession)).ErrorCode);
        await using (var reinstalled = StartAgentAs(_cell, "reinstalled"))
        {
            await WaitForCellAsync(alive: true);
            await reinstalled.StopAsync();
        }
        await WaitForCellAsync(alive: false);

        // The first certificate no longer admits the cell.
        await using var old = StartAgent(Token);
        await old.WaitForOutputAsync($"the certificate of cell '{_cell}' is not the one on record", Join);
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
