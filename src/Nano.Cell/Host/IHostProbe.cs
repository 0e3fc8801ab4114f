namespace Nano.Cell.Host;

/// <summary>Cumulative counters of the host, read at one instant; rates come from two readings.</summary>
/// <param name="CpuBusy">CPU time spent working, in clock ticks.</param>
/// <param name="CpuTotal">CPU time in all, in clock ticks.</param>
/// <param name="AvailableMemory">Available memory in bytes.</param>
/// <param name="TotalMemory">Installed memory in bytes.</param>
/// <param name="DiskRead">Bytes read from block devices.</param>
/// <param name="DiskWritten">Bytes written to block devices.</param>
/// <param name="NetReceived">Bytes received on network interfaces (loopback excluded).</param>
/// <param name="NetSent">Bytes sent on network interfaces (loopback excluded).</param>
public sealed record HostCounters(
    ulong CpuBusy, ulong CpuTotal, long AvailableMemory, long TotalMemory,
    long DiskRead, long DiskWritten, long NetReceived, long NetSent);

/// <summary>Reads the host's counters.</summary>
public interface IHostProbe
{
    HostCounters Read();

    /// <summary>(total, available) bytes of the file system holding <paramref name="path"/>.</summary>
    (long Total, long Available) Space(string path);
}
