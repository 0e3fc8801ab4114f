using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Cells;

/// <summary>
/// A cell (re)joined: if it belongs to a pool with shared storage, the storage is pushed again (a
/// restarted host has lost its mounts) and the outcome recorded for #11.
/// </summary>
public sealed class CellJoined(CellRepository cells, ComputePoolRepository pools, StoragePoolRepository storagePools, CellGateway gateway, ILogger<CellJoined> logger)
{
    public async Task HandleAsync(string cellName, CancellationToken cancellationToken)
    {
        var cell = await cells.FindAsync(cellName);
        if (cell?.Pool is null || await pools.FindAsync(cell.Pool) is not { Storage: { } storageName })
            return;
        var storage = await storagePools.FindAsync(storageName);
        if (storage is null)
            return;
        var result = await gateway.SendAsync(cellName, new Command
        {
            AttachStorage = new AttachStorage { Pool = storage.Name, Type = storage.Type, Host = storage.Host, Target = storage.Target },
        }, cancellationToken);
        await cells.SetAttachmentAsync(cellName, storage.Name, result.Error.Length == 0, result.Error);
        if (result.Storage is { } reported)
            await cells.SetStorageAsync(cellName, reported.Mode, [.. reported.System], [.. reported.Data]);
        if (result.Error.Length > 0)
            logger.LogWarning("Cell {Cell} could not mount storage pool {Storage}: {Error}", cellName, storage.Name, result.Error);
    }
}
