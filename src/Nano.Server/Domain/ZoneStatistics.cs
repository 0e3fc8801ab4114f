using Nano.Server.Data;

namespace Nano.Server.Domain;

/// <summary>
/// Figures of a set of cells (api-decisions.md 4.3): memory, disk and rates summed over live cells, CPU usage
/// averaged weighted by each live cell's cores; offline cells only count as offline.
/// </summary>
public sealed record ZoneStatistics(
    int Offline, int Online, int Stopped, int Running, int Lost, int Migrating,
    double CpuUsage, int MaxCpu, long AvailableMemory, long MaxMemory, long AvailableDisk, long MaxDisk,
    long ReadSpeed, long WriteSpeed, long ReceiveSpeed, long SendSpeed)
{
    /// <summary>The figures of <paramref name="cells"/>, summed here.</summary>
    public static ZoneStatistics Of(IReadOnlyCollection<CellRow> cells)
    {
        var live = cells.Where(c => c.Alive).ToList();
        return From(new CellTotals(
            cells.Count - live.Count, live.Count,
            cells.Sum(c => c.Stopped), cells.Sum(c => c.Running), cells.Sum(c => c.Lost), cells.Sum(c => c.Migrating),
            live.Sum(c => c.CpuUsage * c.Cores), live.Sum(c => c.Cores),
            live.Sum(c => c.AvailableMemory), live.Sum(c => c.MaxMemory), live.Sum(c => c.AvailableDisk), live.Sum(c => c.MaxDisk),
            live.Sum(c => c.ReadSpeed), live.Sum(c => c.WriteSpeed), live.Sum(c => c.ReceiveSpeed), live.Sum(c => c.SendSpeed)));
    }

    /// <summary>The figures of cells whose totals were summed already (by the database, <see cref="CellRepository.TotalsAsync"/>).</summary>
    public static ZoneStatistics From(CellTotals t) => new(
        t.Offline, t.Online, t.Stopped, t.Running, t.Lost, t.Migrating,
        t.Cores == 0 ? 0 : Math.Round(t.CpuWeighted / t.Cores, 2), t.Cores,
        t.AvailableMemory, t.MaxMemory, t.AvailableDisk, t.MaxDisk, t.ReadSpeed, t.WriteSpeed, t.ReceiveSpeed, t.SendSpeed);

    public int[] Cells => [Offline, Online];

    public int[] Instances => [Stopped, Running, Lost, Migrating];
}
