using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell (re)joined, and reported its domains. This zone touches only its own: a domain stamped with another zone's
/// identity is left alone. A domain of a guest this zone abandoned (a creation given up on while the cell was away) is
/// removed with its files. A domain of this zone (or of no zone: defined before zones had ids) that no row claims is
/// kept, files and all, logged and listed for administrators (<see cref="UnknownDomainRepository"/>): a server restored
/// from an older backup, or pointed at the wrong database, must not wipe what it does not know. Stale copies of guests
/// that moved on while the cell was lost (another cell, or another generation: fencing after a failover) are powered
/// off and forgotten, their files kept, for they may be the guest's files on shared storage. If the cell belongs to a
/// pool with shared storage, the storage is pushed again (a restarted host has lost its mounts) and the outcome
/// recorded for #11.
/// </summary>
public sealed class CellJoined(
    CellRepository cells, ComputePoolRepository pools, StoragePoolRepository storagePools, GuestRepository guests, UnknownDomainRepository unknown,
    SystemRepository system, CellCommands commands, ILogger<CellJoined> logger)
{
    public async Task HandleAsync(string cellName, IReadOnlyList<DomainReport> domains, CancellationToken cancellationToken)
    {
        var zone = (await system.ZoneIdAsync()).ToString();
        var unclaimed = new List<UnknownDomainRow>();
        var ours = domains.Select(d => (Domain: d, Id: Guid.TryParse(d.GuestId, out var id) ? id : Guid.Empty))
            .Where(d => d.Id != Guid.Empty && (d.Domain.Zone.Length == 0 || d.Domain.Zone == zone)).ToList();
        var rows = await guests.PlacementsAsync([.. ours.Select(d => d.Id).Distinct()]);
        foreach (var (domain, id) in ours)
        {
            var row = rows.GetValueOrDefault(id);
            bool deleteFiles;
            if (row is null && await unknown.TakeAbandonedAsync(cellName, id))
            {
                logger.LogWarning("Cell {Cell} has a domain for guest {Guest}, whose creation was abandoned: removing it", cellName, id);
                deleteFiles = true;
            }
            else if (row is null)
            {
                // The name is the cell's word: one that is not a plain name (a NUL, escapes, 100 KB) is listed as the guest id.
                var name = InputRules.IsName(domain.Name) ? domain.Name : id.ToString();
                unclaimed.Add(new UnknownDomainRow(cellName, id, name, StateName(domain.State), domain.Generation, DateTime.UtcNow));
                continue;
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
        if (unclaimed.Count > 0)
            logger.LogWarning("Cell {Cell} has {Count} domain(s) of this zone that no guest record claims, kept until an administrator removes them " +
                "(GET /api/v1/unknown_domains): {Domains}", cellName, unclaimed.Count, string.Join(", ", unclaimed.Select(d => $"{d.Name} ({d.Guest})")));
        await unknown.ReplaceAsync(cellName, unclaimed);
        await RemountAsync(cellName, cancellationToken);
    }

    /// <summary>How an unknown domain's state is listed.</summary>
    private static string StateName(DomainState state) => state switch
    {
        DomainState.Running => "running",
        DomainState.Stopped => "stopped",
        DomainState.Paused => "paused",
        DomainState.Crashed => "crashed",
        _ => "unknown",
    };

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
