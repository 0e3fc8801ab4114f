using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;

namespace Nano.Server.Services;

/// <summary>Zone, pool and cell statistics as API messages (api-decisions.md 1.2, 4.3).</summary>
public static class StatusMessages
{
    /// <summary>The zone: pools [disabled, enabled]; cells and figures summed over the cells in pools (<see cref="CellRepository.ZoneTotalsAsync"/>).</summary>
    public static ZoneStatus ToZoneStatus(ZoneTotals zone, DateTime startedAt)
    {
        var s = ZoneStatistics.From(zone.PooledCells);
        return new ZoneStatus
        {
            Name = "default",
            Pools = { zone.DisabledPools, zone.EnabledPools },
            Cells = { s.Cells }, Instances = { s.Instances },
            CpuUsage = s.CpuUsage, MaxCpu = s.MaxCpu, AvailableMemory = s.AvailableMemory, MaxMemory = s.MaxMemory,
            AvailableDisk = s.AvailableDisk, MaxDisk = s.MaxDisk, ReadSpeed = s.ReadSpeed, WriteSpeed = s.WriteSpeed,
            ReceiveSpeed = s.ReceiveSpeed, SendSpeed = s.SendSpeed,
            StartTime = NanoTime.Print(startedAt),
        };
    }

    /// <summary>Upstream truncates cpu_usage to an integer in the list routes (#18, #20).</summary>
    private static double Cpu(double value, bool truncate) => truncate ? Math.Truncate(value) : value;

    /// <summary>A pool with the figures of its cells (summed here, <see cref="ZoneStatistics.Of"/>, or by the database, <see cref="ZoneStatistics.From"/>).</summary>
    public static PoolStatus ToPoolStatus(ComputePoolRow pool, ZoneStatistics s, bool truncateCpu) => new()
    {
        Name = pool.Name, Enabled = pool.Enabled, Cells = { s.Cells }, Instances = { s.Instances },
        CpuUsage = Cpu(s.CpuUsage, truncateCpu), MaxCpu = s.MaxCpu, AvailableMemory = s.AvailableMemory, MaxMemory = s.MaxMemory,
        AvailableDisk = s.AvailableDisk, MaxDisk = s.MaxDisk, ReadSpeed = s.ReadSpeed, WriteSpeed = s.WriteSpeed,
        ReceiveSpeed = s.ReceiveSpeed, SendSpeed = s.SendSpeed,
    };

    /// <summary>An offline cell reports no usage, only its counters.</summary>
    public static CellStatus ToCellStatus(CellRow c, bool truncateCpu)
    {
        var s = ZoneStatistics.Of([c]);
        return new CellStatus
        {
            Name = c.Name, Address = c.Address, Enabled = c.Enabled, Alive = c.Alive, Instances = { s.Instances },
            CpuUsage = Cpu(s.CpuUsage, truncateCpu), MaxCpu = s.MaxCpu, AvailableMemory = s.AvailableMemory, MaxMemory = s.MaxMemory,
            AvailableDisk = s.AvailableDisk, MaxDisk = s.MaxDisk, ReadSpeed = s.ReadSpeed, WriteSpeed = s.WriteSpeed,
            ReceiveSpeed = s.ReceiveSpeed, SendSpeed = s.SendSpeed,
        };
    }
}
