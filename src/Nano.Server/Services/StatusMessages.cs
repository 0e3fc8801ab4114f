using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;

namespace Nano.Server.Services;

/// <summary>Zone, pool and cell statistics as API messages (api-decisions.md 1.2, 4.3).</summary>
public static class StatusMessages
{
    /// <summary>The zone: pools [disabled, enabled]; cells and figures summed over the cells in pools.</summary>
    /// <summary>The zone's status: its pools, and the totals of every pooled cell (<see cref="CellRepository.TotalsAsync"/> with no pool).</summary>
    public static ZoneStatus ToZoneStatus(IReadOnlyCollection<ComputePoolRow> pools, CellTotals pooledCells, DateTime startedAt)
    {
        var s = ZoneStatistics.From(pooledCells);
        return new ZoneStatus
        {
            Name = "default",
            Pools = { pools.Count(p => !p.Enabled), pools.Count(p => p.Enabled) },
            Cells = { s.Cells }, Instances = { s.Instances },
            CpuUsage = s.CpuUsage, MaxCpu = s.MaxCpu, AvailableMemory = s.AvailableMemory, MaxMemory = s.MaxMemory,
            AvailableDisk = s.AvailableDisk, MaxDisk = s.MaxDisk, ReadSpeed = s.ReadSpeed, WriteSpeed = s.WriteSpeed,
            ReceiveSpeed = s.ReceiveSpeed, SendSpeed = s.SendSpeed,
            StartTime = NanoTime.Print(startedAt),
        };
    }

    /// <summary>Upstream truncates cpu_usage to an integer in the list routes (#18, #20).</summary>
    private static double Cpu(double value, bool truncate) => truncate ? Math.Truncate(value) : value;

    public static PoolStatus ToPoolStatus(ComputePoolRow pool, IReadOnlyCollection<CellRow> poolCells, bool truncateCpu)
    {
        var s = ZoneStatistics.Of(poolCells);
        return new PoolStatus
        {
            Name = pool.Name, Enabled = pool.Enabled, Cells = { s.Cells }, Instances = { s.Instances },
            CpuUsage = Cpu(s.CpuUsage, truncateCpu), MaxCpu = s.MaxCpu, AvailableMemory = s.AvailableMemory, MaxMemory = s.MaxMemory,
            AvailableDisk = s.AvailableDisk, MaxDisk = s.MaxDisk, ReadSpeed = s.ReadSpeed, WriteSpeed = s.WriteSpeed,
            ReceiveSpeed = s.ReceiveSpeed, SendSpeed = s.SendSpeed,
        };
    }

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
