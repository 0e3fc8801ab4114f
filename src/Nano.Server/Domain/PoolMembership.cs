using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Attaching cells to compute pools and taking them out: the pool's storage is pushed to the cell,
/// which must confirm within the command timeout; a failure undoes the attach.
/// </summary>
public sealed class PoolMembership(CellRepository cells, ComputePoolRepository pools, StoragePoolRepository storagePools, CellCommands commands)
{
    public async Task AttachAsync(string poolName, string cellName, CancellationToken cancellationToken)
    {
        var pool = await pools.FindAsync(poolName) ?? throw Fail.NotFound($"compute pool '{poolName}' not found");
        var cell = await cells.FindAsync(cellName) ?? throw Fail.NotFound($"cell '{cellName}' not found");
        if (cell.Pool is not null)
            throw Fail.Precondition($"cell '{cellName}' already belongs to compute pool '{cell.Pool}'");
        await commands.RequireReachableAsync(cell);
        if (CpuRules.AttachRefusal(poolName, pool.Cpu, [.. (await cells.ListAsync(poolName)).Select(PoolCpu.Of)], PoolCpu.Of(cell)) is { } refusal)
            throw Fail.Precondition(refusal);
        if (!await cells.AttachAsync(cellName, poolName))
            throw Fail.Precondition($"cell '{cellName}' was attached to another pool meanwhile");
        try
        {
            var storage = pool.Storage is null ? null : await storagePools.FindAsync(pool.Storage);
            if (await commands.AttachStorageAsync(cellName, storage, cancellationToken) is { Length: > 0 } error)
                throw Fail.Precondition($"cell '{cellName}' could not attach the storage of '{poolName}': {error}");
        }
        catch
        {
            await cells.UndoAttachAsync(cellName, poolName);
            throw;
        }
    }

    /// <summary>#23, local mode only: the cell moves its default storage folder (it checks the old one holds no volumes and the new one is empty).</summary>
    public async Task ChangeLocalStorageAsync(CellRow cell, string path, CancellationToken cancellationToken)
    {
        path = InputRules.AbsolutePath("default", path);
        if (cell.StorageMode != "local")
            throw Fail.Precondition($"cell '{cell.Name}' uses {cell.StorageMode} storage; only a local storage path can change");
        if (cell.SystemPaths.FirstOrDefault() == path)
            throw Fail.Precondition($"'{path}' is already the default storage path of '{cell.Name}'");
        await commands.ChangeStoragePathAsync(cell.Name, path, cancellationToken);
    }

    /// <summary>Takes a cell hosting no guests out of its pool; a live cell is told to release shared storage.</summary>
    public async Task DetachAsync(string poolName, string cellName, CancellationToken cancellationToken)
    {
        var pool = await pools.FindAsync(poolName) ?? throw Fail.NotFound($"compute pool '{poolName}' not found");
        var written = await cells.DetachAsync(cellName, poolName);
        written.OrFail(inUse: $"cell '{cellName}' still hosts {written.Cause} guest(s)", missing: $"cell '{cellName}' is not in compute pool '{poolName}'");
        if (pool.Storage is not null && await commands.IsConnectedAsync(cellName))
            await commands.DetachStorageAsync(cellName, pool.Storage, cancellationToken);
    }
}
