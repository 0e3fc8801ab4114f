using Nano.Testing;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// Issue 16: a real nano-cell agent given two server replicas (--server A,B) over TLS. When A stops, the agent moves to
/// B within the liveness window and the cell stays alive throughout: no failover, no offline moment.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ReplicaAgentTests : IAsyncLifetime
{
    private const string Token = "e2e-replica-token";
    private static readonly TimeSpan Join = TimeSpan.FromSeconds(60);

    private readonly string _work = Directory.CreateTempSubdirectory("nano-e2e-").FullName;
    private readonly string _cell = $"e2e-{Guid.NewGuid():N}"[..16];
    private TestServer _a = null!;
    private TestServer _b = null!;
    private string _admin = "";

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists("/var/run/libvirt/libvirt-sock"), "libvirtd is not running: run the suite through ./tools/test, which starts it");
        // The replicas share the data folder (one secrets key, one image store) and the zone's TLS folder.
        var settings = new Dictionary<string, string?>
        {
            ["Nano:CellToken"] = Token,
            ["Nano:CellMetricsIntervalMs"] = "1000",
            ["Nano:DataDir"] = Path.Combine(_work, "data"),
            ["Nano:TlsFolder"] = Path.Combine(_work, "tls"),
        };
        _a = await TestServer.StartAsync(settings: settings);
        _b = await TestServer.StartAsync(_a.Database, settings);
        _admin = await _a.FirstRunAsync(InitializedServer.AllMenus);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        try
        {
            await _a.DisposeAsync();
        }
        catch (ObjectDisposedException)
        {
            // the test stopped it
        }
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task AnAgentOfTwoReplicas_MovesToTheOtherWhenItsReplicaStops_AndItsCellStaysAlive()
    {
        await using var agent = AgentProcess.Start(
            "--server", $"{_a.GrpcUrl},{_b.GrpcUrl}", "--ca-file", _a.CaFile!, "--token", Token, "--name", _cell,
            "--libvirt-uri", "qemu:///system", "--storage-path", Path.Combine(_work, "images"),
            "--mount-root", Path.Combine(_work, "mounts"), "--state-file", Path.Combine(_work, "cell.json"));
        await agent.WaitForOutputAsync($"Joined {_a.GrpcUrl}", Join);
        await Wait.ForAsync(async () => await AliveAsync() == true, Join, TimeSpan.FromMilliseconds(200));

        using var watching = new CancellationTokenSource();
        var seen = new List<bool?>();
        var watch = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                seen.Add(await AliveAsync());
                await Task.Delay(200);
            }
        });
        await _a.DisposeAsync();
        await agent.WaitForOutputAsync($"Joined {_b.GrpcUrl}", TimeSpan.FromSeconds(10)); // within the liveness window
        await Task.Delay(TimeSpan.FromSeconds(12)); // past it: a cell left for dead would show offline by now
        await watching.CancelAsync();
        await watch;

        Assert.True(seen.Count > 20, $"{seen.Count} looks");
        Assert.All(seen, alive => Assert.True(alive == true, $"the cell was seen {(alive is null ? "missing" : "offline")} while it moved"));
    }

    /// <summary>The cell as the surviving replica lists it: alive or not; null when it is not listed.</summary>
    private async Task<bool?> AliveAsync()
    {
        var cells = await _b.Rest.GetAsync("/api/v1/compute_pool_cells/", _admin);
        return cells.Data?.AsArray().FirstOrDefault(c => c!["name"]!.GetValue<string>() == _cell)?["alive"]?.GetValue<bool>();
    }
}
