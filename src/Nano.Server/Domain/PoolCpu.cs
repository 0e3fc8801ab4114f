using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>The CPU definition guests of a pool start with: the pool's setting over its cells as they last said hello (<see cref="CpuRules"/>).</summary>
public sealed class PoolCpu(ComputePoolRepository pools, CellRepository cells)
{
    public static CellCpus Of(CellRow cell) => new(cell.Name, cell.Cpus, cell.CpuSignature);

    /// <summary>The definition for the next start of a guest of <paramref name="pool"/>; "" leaves it to the cell.</summary>
    public async Task<string> ForAsync(string pool)
    {
        var row = await pools.FindAsync(pool);
        return CpuRules.Choose(row?.Cpu ?? "", (await cells.ListAsync(pool)).Select(Of));
    }
}
