using System.Diagnostics;
using System.Globalization;
using CellScale;
using Npgsql;

// cell-scale AGENTS GUESTS_PER_CELL REPLICA_PIDS GRPC_URLS REST_URLS TOKEN SESSION SECONDS WORK_DIR DATABASE
// The zone's records first: AGENTS cells in the default pool, each with GUESTS_PER_CELL running guests (rows written
// directly, deterministic ids), as a zone whose replicas all restarted has them. Then the AGENTS agents, in a second
// process (AgentsProcess: the agents' own load must not delay the probes): the join storm is the time until every
// cell is alive. Then for SECONDS, from this process: each replica process's CPU % and resident memory (and the agents
// process's CPU %), and the latency of GET /api/v1/compute_zone_status/ (10 requests a second, one at a time, round
// robin over the replicas). Last, with AGENTS > 0, the last replica is killed (SIGKILL) and the time until every cell
// it held is alive on another replica is measured. Prints one line.
if (args is ["agents", .. var agentArgs])
{
    await AgentsProcess.RunAsync(agentArgs);
    return;
}
var agents = int.Parse(args[0], CultureInfo.InvariantCulture);
var guestsPerCell = int.Parse(args[1], CultureInfo.InvariantCulture);
var pids = args[2].Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
var grpcUrls = args[3].Split(',');
var restUrls = args[4].Split(',');
var (token, session) = (args[5], args[6]);
var seconds = int.Parse(args[7], CultureInfo.InvariantCulture);
var work = args[8];
var database = args[9];
var replicas = pids.Length;

await using var db = NpgsqlDataSource.Create(database);
foreach (var sql in new[]
{
    "INSERT INTO cells (name, address, pool) SELECT 'sim' || lpad(i::text, 5, '0'), '127.0.0.1', 'default' FROM generate_series(0, $1 - 1) i",
    """
    INSERT INTO guests (id, name, owner, group_name, pool, cell, created, running, cores, memory, disks)
    SELECT (lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(j), 12, '0'))::uuid, 'g' || i || '-' || j, 'bench', 'bench', 'default',
           'sim' || lpad(i::text, 5, '0'), true, true, 1, 512 * 1048576::bigint, ARRAY[1073741824::bigint]
    FROM generate_series(0, $1 - 1) i, generate_series(0, $2 - 1) j
    """,
})
{
    await using var command = db.CreateCommand(sql);
    command.Parameters.AddWithValue(agents);
    command.Parameters.AddWithValue(guestsPerCell);
    await command.ExecuteNonQueryAsync();
}
int postmaster;
await using (var command = db.CreateCommand("SHOW data_directory"))
    postmaster = int.Parse(File.ReadLines(Path.Combine((string)(await command.ExecuteScalarAsync())!, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
string zone;
await using (var command = db.CreateCommand("SELECT id::text FROM zone_identity"))
    zone = (string)(await command.ExecuteScalarAsync())!;

using var agentsProcess = Process.Start(new ProcessStartInfo(Environment.ProcessPath!)
{
    ArgumentList = { typeof(AgentsProcess).Assembly.Location, "agents", args[0], args[1], args[3], token, zone, work },
    RedirectStandardInput = true,
    RedirectStandardOutput = true,
})!;
// The storm is timed from the moment the agents process starts its agents (not from its own start-up).
if (await agentsProcess.StandardOutput.ReadLineAsync() != "starting")
    throw new InvalidOperationException("the agents process ended before starting its agents");
var storm = Stopwatch.StartNew();
var startedLine = agentsProcess.StandardOutput.ReadLineAsync();
var clients = restUrls.Select(url =>
{
    var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
    client.DefaultRequestHeaders.Add("Nano-Session", session);
    return client;
}).ToList();
await WaitAllAliveAsync(TimeSpan.FromMinutes(10));
var joined = storm.Elapsed;
var launched = TimeSpan.FromSeconds(double.Parse((await startedLine)!["started ".Length..], CultureInfo.InvariantCulture));
await Task.Delay(TimeSpan.FromSeconds(6)); // every agent has sent metrics at least once
foreach (var client in clients) // each replica's first answers (its code's first run) are not what is measured
{
    for (var i = 0; i < 20; i++)
        (await client.GetAsync("/api/v1/compute_zone_status/")).Dispose();
}

var latencies = new List<double>();
var rss = pids.Select(_ => new List<long>()).ToArray();
var cpuStart = pids.Select(pid => CpuTicks(pid)).ToArray();
var agentsCpuStart = CpuTicks(agentsProcess.Id);
var postgresCpuStart = PostgresTicks(postmaster);
var wall = Stopwatch.StartNew();
var end = DateTime.UtcNow.AddSeconds(seconds);
var nextRss = DateTime.UtcNow;
for (var n = 0; DateTime.UtcNow < end; n++)
{
    var started = Stopwatch.GetTimestamp();
    using (var response = await clients[n % replicas].GetAsync("/api/v1/compute_zone_status/"))
    {
        var body = await response.Content.ReadAsStringAsync();
        if (!body.StartsWith("{\"error_code\":0", StringComparison.Ordinal))
            throw new InvalidOperationException($"zone status failed: {body}");
    }
    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    if (DateTime.UtcNow >= nextRss)
    {
        for (var r = 0; r < replicas; r++)
            rss[r].Add(ResidentBytes(pids[r]));
        nextRss = DateTime.UtcNow.AddSeconds(1);
    }
    var rest = TimeSpan.FromMilliseconds(100) - Stopwatch.GetElapsedTime(started);
    if (rest > TimeSpan.Zero)
        await Task.Delay(rest);
}
var cpu = pids.Select((pid, r) => 100 * (CpuTicks(pid) - cpuStart[r]) / 100.0 / wall.Elapsed.TotalSeconds).ToArray();
var agentsCpu = (CpuTicks(agentsProcess.Id) - agentsCpuStart) / wall.Elapsed.TotalSeconds;
var postgresCpu = (PostgresTicks(postmaster) - postgresCpuStart) / wall.Elapsed.TotalSeconds;
latencies.Sort();
double Percentile(double p) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];

// The last replica killed: how long until each cell it held is alive on another.
var moved = "";
if (agents > 0 && replicas > 1)
{
    var killedUrl = grpcUrls[^1];
    long held;
    await using (var command = db.CreateCommand("SELECT count(*) FROM cells c JOIN replicas r ON r.id = c.replica WHERE r.grpc_url = $1"))
    {
        command.Parameters.AddWithValue(killedUrl);
        held = (long)(await command.ExecuteScalarAsync())!;
    }
    await using (var command = db.CreateCommand("SELECT id FROM replicas WHERE grpc_url = $1"))
    {
        command.Parameters.AddWithValue(killedUrl);
        var killedId = (Guid)(await command.ExecuteScalarAsync())!;
        Process.GetProcessById(pids[^1]).Kill();
        var killed = Stopwatch.StartNew();
        await using var remaining = db.CreateCommand("""
            SELECT count(*) FROM cells WHERE name LIKE 'sim%' AND (replica IS NULL OR replica = $1 OR NOT connected OR last_seen < now() - interval '10 seconds')
            """);
        remaining.Parameters.AddWithValue(killedId);
        while ((long)(await remaining.ExecuteScalarAsync())! > 0)
        {
            if (killed.Elapsed > TimeSpan.FromMinutes(5))
                throw new TimeoutException("the killed replica's cells were not all alive elsewhere after 5 minutes");
            await Task.Delay(100);
        }
        moved = string.Create(CultureInfo.InvariantCulture, $" killed_replica_cells={held} moved_s={killed.Elapsed.TotalSeconds:0.0}");
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"agents={agents} guests={agents * guestsPerCell} replicas={replicas} started_s={launched.TotalSeconds:0.0} join_s={joined.TotalSeconds:0.0} " +
    $"cpu_percent={string.Join(',', cpu.Select(c => c.ToString("0.0", CultureInfo.InvariantCulture)))} " +
    $"rss_mib={string.Join(',', rss.Select(r => (r.Average() / (1 << 20)).ToString("0", CultureInfo.InvariantCulture)))} " +
    $"cpu_total={cpu.Sum():0.0} agents_cpu_percent={agentsCpu:0.0} postgres_cpu_percent={postgresCpu:0.0} p50_ms={Percentile(0.50):0.00} p90_ms={Percentile(0.90):0.00} p99_ms={Percentile(0.99):0.00} max_ms={latencies[^1]:0.00} requests={latencies.Count}{moved}"));

await agentsProcess.StandardInput.WriteLineAsync("stop");
await agentsProcess.WaitForExitAsync();

// Alive as the servers count it (connected, heard within the default 10 s liveness), counted in the database: a list of
// thousands of cells through REST would load the replicas being measured.
async Task WaitAllAliveAsync(TimeSpan patience)
{
    var deadline = DateTime.UtcNow + patience;
    await using var count = db.CreateCommand("SELECT count(*) FROM cells WHERE name LIKE 'sim%' AND connected AND last_seen > now() - interval '10 seconds'");
    var (best, since, told) = (0L, DateTime.UtcNow, false);
    while (agents > 0)
    {
        var alive = (long)(await count.ExecuteScalarAsync())!;
        if (alive > best)
            (best, since) = (alive, DateTime.UtcNow);
        else if (DateTime.UtcNow - since > TimeSpan.FromSeconds(90) && !told)
        {
            told = true; // stuck for a minute and a half: say once what the offline cells' agents did
            await PrintOfflineAsync();
        }
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[cell-scale] {storm.Elapsed.TotalSeconds:0.0} s: {alive} of {agents} cells alive"));
        if (alive >= agents)
            return;
        if (DateTime.UtcNow > deadline)
        {
            await PrintOfflineAsync();
            throw new TimeoutException($"only {alive} of {agents} agents alive after {patience.TotalMinutes} minutes");
        }
        await Task.Delay(500);
    }
}

// What the rows of (at most ten) cells not alive say, and what their agents last logged (printed by the agents process).
async Task PrintOfflineAsync()
{
    await using var offline = db.CreateCommand("""
        SELECT c.name, c.connected, c.last_seen, r.grpc_url FROM cells c LEFT JOIN replicas r ON r.id = c.replica
        WHERE c.name LIKE 'sim%' AND NOT (c.connected AND c.last_seen > now() - interval '10 seconds') ORDER BY c.name LIMIT 10
        """);
    var names = new List<string>();
    await using (var reader = await offline.ExecuteReaderAsync())
    {
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
            Console.Error.WriteLine($"[cell-scale] {names[^1]}: connected={reader.GetBoolean(1)} last_seen={reader.GetDateTime(2):HH:mm:ss.fff} replica={(reader.IsDBNull(3) ? "" : reader.GetString(3))}");
        }
    }
    await agentsProcess.StandardInput.WriteLineAsync($"offline {string.Join(',', names)}");
    await agentsProcess.StandardInput.FlushAsync();
}

// utime + stime of a process, in clock ticks (USER_HZ = 100); with its ended children's (cutime + cstime) if asked.
static long CpuTicks(int pid, bool endedChildren = false)
{
    var fields = StatFields(pid);
    long Field(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
    return Field(11) + Field(12) + (endedChildren ? Field(13) + Field(14) : 0);
}

// The fields of /proc/PID/stat after the command name (the first is the state, the second the parent's pid).
static string[] StatFields(int pid)
{
    var stat = File.ReadAllText($"/proc/{pid}/stat");
    return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
}

// The database's CPU: the postmaster's, its live backends' and those of the backends that ended.
static long PostgresTicks(int postmaster)
{
    var ticks = CpuTicks(postmaster, endedChildren: true);
    foreach (var dir in Directory.EnumerateDirectories("/proc"))
    {
        try
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && StatFields(pid)[1] == postmaster.ToString(CultureInfo.InvariantCulture))
                ticks += CpuTicks(pid);
        }
        catch (IOException)
        {
            // ended meanwhile
        }
    }
    return ticks;
}

static long ResidentBytes(int pid) =>
    long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
