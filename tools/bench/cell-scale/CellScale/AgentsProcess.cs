using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using Nano.Cell;
using Nano.Cell.Storage;

namespace CellScale;

/// <summary>
/// The simulated cells, in a process of their own (<c>cell-scale agents AGENTS GUESTS_PER_CELL GRPC_URLS TOKEN ZONE WORK_DIR</c>):
/// thousands of agents keep two cores busy, and the probes that measure the servers must not wait behind them. Agent i
/// (the real CellAgent over the real protocol, a simulated hypervisor whose domains are its guests, a simulated host)
/// is given the replicas starting with replica i mod R, and all are started at once. Prints "starting" before and
/// "started SECONDS" once they are; then reads commands on its input: "offline NAME,NAME" prints what those cells' agents last logged, and
/// "stop" (or the end of the input) stops them all.
/// </summary>
internal static class AgentsProcess
{
    public static Guid GuestId(int cell, int guest) => new($"{cell:x8}-0000-4000-8000-{guest:x12}");

    public static string CellName(int cell) => $"sim{cell:D5}";

    public static async Task RunAsync(string[] args)
    {
        var agents = int.Parse(args[0], CultureInfo.InvariantCulture);
        var guestsPerCell = int.Parse(args[1], CultureInfo.InvariantCulture);
        var grpcUrls = args[2].Split(',');
        var (token, zone, work) = (args[3], args[4], args[5]);

        // Threads for all of them from the start: this process never starves its agents' heartbeats while the pool grows.
        ThreadPool.SetMinThreads(Math.Max(64, agents / 10), Math.Max(64, agents / 10));
        using var stop = new CancellationTokenSource();
        var running = new List<CellAgent>();
        var logs = new Dictionary<string, RecentLog>();
        for (var i = 0; i < agents; i++)
        {
            var dir = Path.Combine(work, $"agent{i}");
            var servers = string.Join(',', Enumerable.Range(0, grpcUrls.Length).Select(r => grpcUrls[(i + r) % grpcUrls.Length]));
            var options = Options.Create(new AgentOptions
            {
                Server = servers, Token = token, Name = CellName(i), Address = "127.0.0.1", StoragePath = Path.Combine(dir, "images"),
                MountRoot = Path.Combine(dir, "mounts"), StateFile = Path.Combine(dir, "cell.json"), MaxBackoffSeconds = 5,
            });
            var guests = Enumerable.Range(0, guestsPerCell).Select(g => GuestId(i, g)).ToList();
            var log = logs[CellName(i)] = new RecentLog();
            running.Add(new CellAgent(options, new SimulatedHypervisor(guests, zone), new SimulatedHost(),
                new CellStorageManager(options.Value.StoragePath, options.Value.MountRoot, options.Value.StateFile), log));
        }
        Console.WriteLine("starting");
        var started = Stopwatch.StartNew();
        // All at once, as after a restart of every replica: each agent's start runs on the thread pool (its first steps are synchronous).
        await Task.WhenAll(running.Select(agent => Task.Run(() => agent.StartAsync(stop.Token))));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"started {started.Elapsed.TotalSeconds:0.0}"));

        while (await Console.In.ReadLineAsync() is { } command && command != "stop")
        {
            if (!command.StartsWith("offline ", StringComparison.Ordinal))
                continue;
            foreach (var name in command["offline ".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                Console.Error.WriteLine($"[cell-scale] agent {name} last logged:");
                foreach (var line in logs.TryGetValue(name, out var log) ? log.Lines() : [])
                    Console.Error.WriteLine($"[cell-scale]   {line}");
            }
        }
        stop.Cancel();
        await Task.WhenAll(running.Select(a => a.StopAsync(CancellationToken.None)));
    }
}
