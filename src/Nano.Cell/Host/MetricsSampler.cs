using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Host;

/// <summary>Turns two readings of the host's and the guests' counters into a metrics sample (rates per second).</summary>
public sealed class MetricsSampler(IHostProbe probe, IGuestFigures hypervisor, Func<string> storagePath, string cell)
{
    private HostCounters? _last;
    private IReadOnlyDictionary<string, DomainSample> _lastGuests = new Dictionary<string, DomainSample>();
    private DateTime _lastAt;

    public MetricsSample Sample()
    {
        var now = DateTime.UtcNow;
        var counters = probe.Read();
        var guests = hypervisor.SampleOwnDomains(cell);
        var (diskTotal, diskAvailable) = probe.Space(storagePath());
        var sample = new MetricsSample
        {
            AvailableMemory = counters.AvailableMemory,
            MaxMemory = counters.TotalMemory,
            AvailableDisk = diskAvailable,
            MaxDisk = diskTotal,
        };
        if (_last is { } last)
        {
            var seconds = Math.Max((now - _lastAt).TotalSeconds, 0.001);
            var ticks = counters.CpuTotal - last.CpuTotal;
            sample.CpuUsage = ticks == 0 ? 0 : Math.Round(100.0 * (counters.CpuBusy - last.CpuBusy) / ticks, 2);
            sample.ReadSpeed = Rate(counters.DiskRead - last.DiskRead, seconds);
            sample.WriteSpeed = Rate(counters.DiskWritten - last.DiskWritten, seconds);
            sample.ReceiveSpeed = Rate(counters.NetReceived - last.NetReceived, seconds);
            sample.SendSpeed = Rate(counters.NetSent - last.NetSent, seconds);
            foreach (var (guest, current) in guests)
            {
                var usage = _lastGuests.TryGetValue(guest, out var before) && current.VirtualCpus > 0 && current.CpuTime >= before.CpuTime
                    ? Math.Clamp(100.0 * (current.CpuTime - before.CpuTime) / (seconds * 1e9 * current.VirtualCpus), 0, 100)
                    : 0;
                sample.Guests.Add(new GuestMetrics
                {
                    GuestId = guest, CpuUsage = Math.Round(usage, 2), Memory = current.Memory,
                    BytesRead = current.BytesRead, BytesWritten = current.BytesWritten, BytesReceived = current.BytesReceived, BytesSent = current.BytesSent,
                });
            }
        }
        _last = counters;
        _lastGuests = guests;
        _lastAt = now;
        return sample;
    }

    private static long Rate(long delta, double seconds) => delta <= 0 ? 0 : (long)(delta / seconds);
}
