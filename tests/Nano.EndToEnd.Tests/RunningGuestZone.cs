using System.Diagnostics;
using Nano.Testing;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// A zone for the client tests (one per test class): a server over TLS with a metrics token, a real nano-cell on this
/// host's libvirtd (logging one JSON object per line), and a running guest with a blank disk (its screen: the firmware
/// saying there is nothing to boot).
/// </summary>
public sealed class RunningGuestZone : IAsyncLifetime
{
    public const string Token = "e2e-clients-token";
    public const string MetricsToken = "e2e-metrics-token";
    private const long MiB = 1L << 20;

    private readonly string _bridge = $"nb{Guid.NewGuid():N}"[..10];

    public string Work { get; } = Directory.CreateTempSubdirectory("nano-e2e-clients-").FullName;

    public string Cell { get; } = $"cli-{Guid.NewGuid():N}"[..16];

    public InitializedServer Zone { get; } = new AgentZone(Token, ("Nano:MetricsToken", MetricsToken));

    public AgentProcess Agent { get; private set; } = null!;

    /// <summary>The running guest's id.</summary>
    public string Guest { get; private set; } = "";

    public RestClient Rest => Zone.Rest;

    public string Admin => Zone.AdminSession;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists("/var/run/libvirt/libvirt-sock"), "libvirtd is not running: run the suite through ./tools/test, which starts it");
        await Zone.InitializeAsync();
        Run("ip", "link", "add", _bridge, "type", "bridge");
        Run("ip", "link", "set", _bridge, "up");
        Agent = AgentProcess.Start("--server", Zone.Server.GrpcUrl, "--ca-file", Zone.Server.CaFile!, "--token", Token, "--name", Cell,
            "--address", "127.0.0.1", "--libvirt-uri", "qemu:///system", "--bridge", _bridge, "--storage-path", Path.Combine(Work, "images"),
            "--mount-root", Path.Combine(Work, "mounts"), "--state-file", Path.Combine(Work, "cell.json"), "--log-format", "json");
        try
        {
            await Wait.ForAsync(async () => (await Rest.GetAsync("/api/v1/compute_pool_cells/", Admin)).Data!.AsArray().Any(c => c!["name"]!.GetValue<string>() == Cell),
                TimeSpan.FromSeconds(90));
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/default/{Cell}", null, Admin)).ErrorCode);
            await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/default/{Cell}", Admin)).Data!["available_memory"]!.GetValue<long>() > 0,
                TimeSpan.FromSeconds(90));
            Guest = await CreateGuestAsync("shown");
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{Guest}", new { }, Admin)).ErrorCode);
        }
        catch
        {
            await DisposeAsync(); // xunit does not dispose a fixture whose set-up failed: no agent, bridge or folder may stay behind
            throw;
        }
    }

    /// <summary>A created (stopped) guest with one blank 1 GiB disk; its id.</summary>
    public async Task<string> CreateGuestAsync(string name)
    {
        var created = await Rest.PostAsync("/api/v1/guests/", new
        {
            name, pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128 * MiB, disks = new[] { 1024 * MiB },
        }, Admin);
        Assert.True(created.ErrorCode == 0, created.Text);
        var id = created.Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data?["created"]?.GetValue<bool>() == true, TimeSpan.FromSeconds(120));
        return id;
    }

    public async Task DisposeAsync()
    {
        if (Agent is not null)
            await Agent.DisposeAsync();
        await Zone.DisposeAsync();
        LeftoverDomains.Remove(Cell);
        Run("ip", "link", "del", _bridge);
        Directory.Delete(Work, recursive: true);
    }

    private static void Run(string file, params string[] args)
    {
        using var process = Process.Start(file, args);
        process.WaitForExit();
    }
}
