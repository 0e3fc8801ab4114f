using Nano.Cell.Host;
using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Tests;

/// <summary>Host counters from /proc, and metrics computed from two readings.</summary>
public sealed class HostProbeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nano-proc-").FullName;

    [Fact]
    public void ProcFiles_AreParsed()
    {
        WriteProc(cpu: "cpu  100 0 50 800 50 0 0 0 0 0", memTotalKb: 2048, memAvailableKb: 1024,
            disks: ["   8       0 sda 10 0 200 0 5 0 100 0 0 0 0", "   8       1 sda1 10 0 200 0 5 0 100 0 0 0 0", "   7       0 loop0 1 0 999 0 1 0 999 0 0 0 0"],
            nets: ["    lo: 5000 0 0 0 0 0 0 0 5000 0 0 0 0 0 0 0", "  eth0: 1000 1 0 0 0 0 0 0 300 1 0 0 0 0 0 0"]);
        var counters = new ProcHostProbe(_root, Path.Combine(_root, "sys-block")).Read();
        Assert.Equal(new HostCounters(150, 1000, 1024 * 1024, 2048 * 1024, 200 * 512, 100 * 512, 1000, 300), counters);
    }

    [Fact]
    public void TheRealHost_IsRead()
    {
        var probe = new ProcHostProbe();
        var counters = probe.Read();
        var memTotal = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.Equal(long.Parse(memTotal) * 1024, counters.TotalMemory);
        Assert.InRange(counters.AvailableMemory, 1, counters.TotalMemory);
        Assert.InRange(counters.CpuBusy, 1UL, counters.CpuTotal);
        var (total, available) = probe.Space(Path.GetTempPath());
        Assert.InRange(available, 1, total);
    }

    [Fact]
    public void Metrics_AreRatesBetweenTwoReadings()
    {
        var probe = new ScriptedProbe(
            new HostCounters(100, 1000, 500, 1000, 0, 0, 0, 0),
            new HostCounters(400, 2000, 400, 1000, 1_000_000, 2_000_000, 3_000_000, 4_000_000));
        var sampler = new MetricsSampler(probe, new NoDomains(), () => "/", "cell");
        var first = sampler.Sample();
        Assert.Equal(0, first.CpuUsage);
        Thread.Sleep(1000);
        var second = sampler.Sample();
        Assert.Equal(30, second.CpuUsage);
        Assert.Equal(400, second.AvailableMemory);
        Assert.InRange(second.ReadSpeed, 500_000, 1_000_000);
        Assert.InRange(second.SendSpeed, 2_000_000, 4_000_000);
        Assert.Equal(second.ReadSpeed * 4, second.SendSpeed, tolerance: 4);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void WriteProc(string cpu, long memTotalKb, long memAvailableKb, string[] disks, string[] nets)
    {
        File.WriteAllText(Path.Combine(_root, "stat"), cpu + "\ncpu0 1 2 3 4\n");
        File.WriteAllText(Path.Combine(_root, "meminfo"), $"MemTotal:       {memTotalKb} kB\nMemFree:        1 kB\nMemAvailable:   {memAvailableKb} kB\n");
        File.WriteAllLines(Path.Combine(_root, "diskstats"), disks);
        Directory.CreateDirectory(Path.Combine(_root, "net"));
        File.WriteAllLines(Path.Combine(_root, "net", "dev"), ["Inter-|   Receive", " face |bytes    packets", .. nets]);
        Directory.CreateDirectory(Path.Combine(_root, "sys-block", "sda"));
        Directory.CreateDirectory(Path.Combine(_root, "sys-block", "loop0"));
    }

    private sealed class ScriptedProbe(params HostCounters[] readings) : IHostProbe
    {
        private int _next;

        public HostCounters Read() => readings[Math.Min(_next++, readings.Length - 1)];

        public (long Total, long Available) Space(string path) => (100, 40);
    }

    private sealed class NoDomains : IGuestFigures
    {
        public IReadOnlyDictionary<string, DomainSample> SampleOwnDomains(string cell) => new Dictionary<string, DomainSample>();
    }
}
