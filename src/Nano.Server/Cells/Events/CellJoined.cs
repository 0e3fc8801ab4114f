using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell (re)joined: domains it reports for guests that have no row (a creation the server gave up
/// on while the cell was away) are removed, so no VM lives without a row; stale copies of guests that
/// moved on while it was lost (another cell, or another generation: fencing after a failover) are
/// powered off and forgotten, their files kept, for they may be the guest's files on shared storage; and
/// if the cell belongs to a pool with shared storage, the storage is pushed again (a restarted host has
/// lost its mounts) and the outcome recorded for #11.
/// </summary>
public sealed class CellJoined(
    CellRepository cells, ComputePoolRepository pools, StoragePoolRepository storagePools, GuestRepository guests,
    CellCommands commands, ILogger<CellJoined> logger)
{
    public async Task HandleAsync(string cellName, IReadOnlyList<DomainReport> domains, CancellationToken cancellationToken)
    {
        foreach (var domain in domains)
        {
            if (!Guid.TryParse(domain.GuestId, out var id))
                continue;
            var row = await guests.FindAsync(id);
            bool deleteFiles;
            if (row is null)
            {
                logger.LogWarning("Cell {Cell} has a domain for guest {Guest}, which has no record: removing it", cellName, id);
                deleteFiles = true;
            }
            else if (!row.Migrating && (row.Cell != cellName || (domain.Generation != 0 && domain.Generation != row.Generation)))
            {
                logger.LogWarning("Cell {Cell} has a stale copy of guest {Guest} (generation {Stale}), which is generation {Generation} on {Owner}: fencing it",
                    cellName, row.Name, domain.Generation, row.Generation, row.Cell);
                deleteFiles = false;
            }
            else
                continue;
            if (await commands.RemoveDomainAsync(cellName, id, domain.State == DomainState.Running, deleteFiles, cancellationToken) is { Length: > 0 } error)
                logger.LogWarning("Cell {Cell} could not remove the domain of guest {Guest}: {Error}", cellName, id, error);
        }
        await RemountAsync(cellName, cancellationToken);
    }

    private async Task RemountAsync(string cellName, CancellationToken cancellationToken)
    {
        var cell = await cells.FindAsync(cellName);
        if (cell?.Pool is null || await pools.FindAsync(cell.Pool) is not { Storage: { } storageName })
            return;
        var storage = await storagePools.FindAsync(storageName);
        if (storage is null)
            return;
        if (await commands.AttachStorageAsync(cellName, storage, cancellationToken) is { Length: > 0 } error)
            logger.LogWarning("Cell {Cell} could not mount storage pool {Storage}: {Error}", cellName, storage.Name, error);
    }
}
