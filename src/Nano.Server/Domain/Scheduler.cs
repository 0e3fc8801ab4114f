using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>Where a new guest runs: among the pool's enabled, alive cells that fit it, the one with the most free memory.</summary>
public static class Scheduler
{
    /// <summary>The cells with what is <paramref name="reserved"/> on each (guests placed there, not created yet) taken off their free memory and disk.</summary>
    public static IReadOnlyList<CellRow> LessReserved(IEnumerable<CellRow> cells, IReadOnlyDictionary<string, (long Memory, long Disk)> reserved) =>
        [.. cells.Select(c => reserved.TryGetValue(c.Name, out var r)
            ? c with { AvailableMemory = c.AvailableMemory - r.Memory, AvailableDisk = c.AvailableDisk - r.Disk }
            : c)];

    /// <summary>
    /// Picks a cell for a guest of <paramref name="cores"/> vCPUs, <paramref name="memory"/> bytes and
    /// <paramref name="disk"/> bytes of disks, or fails with FAILED_PRECONDITION naming what is short.
    /// </summary>
    public static CellRow Choose(string pool, IReadOnlyCollection<CellRow> cells, int cores, long memory, long disk)
    {
        var candidates = cells.Where(c => c.Enabled && c.Alive).ToList();
        if (candidates.Count == 0)
            throw Fail.Precondition($"compute pool '{pool}' has no enabled cell that is alive");
        var fitting = candidates
            .Where(c => c.Cores >= cores && c.AvailableMemory >= memory && c.AvailableDisk >= disk)
            .OrderByDescending(c => c.AvailableMemory)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .FirstOrDefault();
        if (fitting is not null)
            return fitting;
        var shortage = candidates.Max(c => c.Cores) < cores
            ? $"{cores} cores (the largest cell has {candidates.Max(c => c.Cores)})"
            : candidates.Max(c => c.AvailableMemory) < memory
                ? $"{memory} bytes of free memory (the most any cell has is {candidates.Max(c => c.AvailableMemory)})"
                : candidates.Max(c => c.AvailableDisk) < disk
                    ? $"{disk} bytes of free disk (the most any cell has is {candidates.Max(c => c.AvailableDisk)})"
                    : $"{cores} cores, {memory} bytes of memory and {disk} bytes of disk at once";
        throw Fail.Precondition($"no cell of compute pool '{pool}' has {shortage}");
    }
}
