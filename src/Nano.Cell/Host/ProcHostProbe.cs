using System.Globalization;

namespace Nano.Cell.Host;

/// <summary>The host's counters from /proc (stat, meminfo, diskstats, net/dev) and statvfs.</summary>
public sealed class ProcHostProbe(string procRoot = "/proc", string sysBlock = "/sys/block") : IHostProbe
{
    public HostCounters Read()
    {
        var (busy, total) = Cpu();
        var (available, memTotal) = Memory();
        var (read, written) = Disks();
        var (received, sent) = Network();
        return new HostCounters(busy, total, available, memTotal, read, written, received, sent);
    }

    public (long Total, long Available) Space(string path)
    {
        var drive = new DriveInfo(Directory.Exists(path) ? path : "/");
        return (drive.TotalSize, drive.AvailableFreeSpace);
    }

    /// <summary>First line of /proc/stat: user nice system idle iowait irq softirq steal; idle and iowait are not busy.</summary>
    private (ulong Busy, ulong Total) Cpu()
    {
        var fields = File.ReadLines(Path.Combine(procRoot, "stat")).First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1).Take(8).Select(f => ulong.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var total = fields.Aggregate(0UL, (a, b) => a + b);
        var idle = fields[3] + fields[4];
        return (total - idle, total);
    }

    private (long Available, long Total) Memory()
    {
        long available = 0, total = 0;
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "meminfo")))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts[0] == "MemTotal:")
                total = long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
            else if (parts[0] == "MemAvailable:")
                available = long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
        }
        return (available, total);
    }

    /// <summary>Whole block devices only (those in /sys/block), without loop and ram devices; sectors are 512 bytes.</summary>
    private (long Read, long Written) Disks()
    {
        long read = 0, written = 0;
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "diskstats")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var name = f[2];
            if (name.StartsWith("loop", StringComparison.Ordinal) || name.StartsWith("ram", StringComparison.Ordinal) ||
                !Directory.Exists(Path.Combine(sysBlock, name)))
                continue;
            read += long.Parse(f[5], CultureInfo.InvariantCulture) * 512;
            written += long.Parse(f[9], CultureInfo.InvariantCulture) * 512;
        }
        return (read, written);
    }

    private (long Received, long Sent) Network()
    {
        long received = 0, sent = 0;
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "net", "dev")).Skip(2))
        {
            var colon = line.IndexOf(':');
            if (colon < 0 || line[..colon].Trim() == "lo")
                continue;
            var f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            received += long.Parse(f[0], CultureInfo.InvariantCulture);
            sent += long.Parse(f[8], CultureInfo.InvariantCulture);
        }
        return (received, sent);
    }
}
