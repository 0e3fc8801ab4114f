using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Nano.Cell;
using Nano.Cell.Storage;

// cell-scale AGENTS SERVER_PID GRPC_URL REST_URL TOKEN SESSION SECONDS WORK_DIR
// Starts AGENTS agents (the real CellAgent, simulated hypervisor and host), waits until the server
// shows them all alive, then for SECONDS measures the server process (CPU %, resident memory) and the
// latency of GET /api/v1/compute_zone_status/ (10 requests a second, one at a time). Prints one line.
var agents = int.Parse(args[0], CultureInfo.InvariantCulture);
var serverPid = int.Parse(args[1], CultureInfo.InvariantCulture);
var grpcUrl = args[2];
var restUrl = args[3];
var token = args[4];
var session = args[5];
var seconds = int.Parse(args[6], CultureInfo.InvariantCulture);
var work = args[7];

using var stop = new CancellationTokenSource();
var running = new List<CellAgent>();
for (var i = 0; i < agents; i++)
{
    var dir = Path.Combine(work, $"agent{i}");
    var options = Options.Create(new AgentOptions
    {
        Server = grpcUrl, Token = token, Name = $"sim{i:D4}", Address = "127.0.0.1", StoragePath = Path.Combine(dir, "images"),
        MountRoot = Path.Combine(dir, "mounts"), StateFile = Path.Combine(dir, "cell.json"), MaxBackoffSeconds = 5,
    });
    var agent = new CellAgent(options, new CellScale.SimulatedHypervisor(), new CellScale.SimulatedHost(),
        new CellStorageManager(options.Value.StoragePath, options.Value.MountRoot, options.Value.StateFile), NullLogger<CellAgent>.Instance);
    await agent.StartAsync(stop.Token);
    running.Add(agent);
    if (i % 50 == 49)
        await Task.Delay(100);
}

using var http = new HttpClient { BaseAddress = new Uri(restUrl), Timeout = TimeSpan.FromSeconds(30) };
http.DefaultRequestHeaders.Add("Nano-Session", session);
var joinDeadline = DateTime.UtcNow.AddMinutes(3);
while (agents > 0)
{
    var cells = JsonNode.Parse(await http.GetStringAsync("/api/v1/compute_pool_cells/"))!["data"]!.AsArray();
    var alive = cells.Count(c => c!["alive"]!.GetValue<bool>());
    if (alive >= agents)
        break;
    if (DateTime.UtcNow > joinDeadline)
        throw new TimeoutException($"only {alive} of {agents} agents alive after 3 minutes");
    await Task.Delay(500);
}
await Task.Delay(TimeSpan.FromSeconds(6)); // every agent has sent metrics at least once

var latencies = new List<double>();
var rss = new List<long>();
var (cpuStart, wallStart) = (CpuTicks(serverPid), Stopwatch.GetTimestamp());
var end = DateTime.UtcNow.AddSeconds(seconds);
var nextRss = DateTime.UtcNow;
while (DateTime.UtcNow < end)
{
    var started = Stopwatch.GetTimestamp();
    using (var response = await http.GetAsync("/api/v1/compute_zone_status/"))
    {
        var body = await response.Content.ReadAsStringAsync();
        if (!body.StartsWith("{\"error_code\":0", StringComparison.Ordinal))
            throw new InvalidOperationException($"zone status failed: {body}");
    }
    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    if (DateTime.UtcNow >= nextRss)
    {
        rss.Add(ResidentBytes(serverPid));
        nextRss = DateTime.UtcNow.AddSeconds(1);
    }
    var rest = TimeSpan.FromMilliseconds(100) - Stopwatch.GetElapsedTime(started);
    if (rest > TimeSpan.Zero)
        await Task.Delay(rest);
}
var cpuSeconds = (CpuTicks(serverPid) - cpuStart) / 100.0;
var wallSeconds = Stopwatch.GetElapsedTime(wallStart).TotalSeconds;
latencies.Sort();
double Percentile(double p) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"agents={agents} server_cpu_percent={100 * cpuSeconds / wallSeconds:0.0} server_rss_mib={rss.Average() / (1 << 20):0} p50_ms={Percentile(0.50):0.00} p99_ms={Percentile(0.99):0.00} requests={latencies.Count}"));

stop.Cancel();
await Task.WhenAll(running.Select(a => a.StopAsync(CancellationToken.None)));

// utime + stime of a process, in clock ticks (USER_HZ = 100).
static long CpuTicks(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
}

static long ResidentBytes(int pid) =>
    long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
