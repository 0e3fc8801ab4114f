using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Images;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Migrating stopped guests between two cells of one pool (#96-#98, api-decisions.md 4.10), as one operation.
/// On local storage the source first pushes the guest's files to the server. Then the source lets go of
/// its domain, and the target defines the guest: over the files it fetched (SHA-256 checked, its system
/// overlay pointed at the target's own cached copy of the image), or on shared storage over the files it
/// sees. Only then does the source delete its copy. A guest that fails goes back to its source (the
/// target's partial copy is removed); the others go on. Every move counts the guest's generation up.
/// </summary>
public sealed class Migrations(
    GuestRepository guests, ComputePoolRepository pools, CellRepository cells, CellCommands commands, PoolCpu poolCpu, ImageExports exports,
    Operations operations, ILogger<Migrations> logger)
{
    public const string Kind = OperationKinds.MigrateGuests;

    public async Task<Guid> StartAsync(string sourcePool, string sourceCell, string targetCell, string targetPool, IReadOnlyList<string> instances, string user)
    {
        var pool = await pools.FindAsync(InputRules.Name("source_pool", sourcePool)) ?? throw Fail.NotFound($"compute pool '{sourcePool}' not found");
        if (!string.IsNullOrEmpty(targetPool) && targetPool != pool.Name)
            throw Fail.Invalid("migrations between pools are not supported: target_pool must be empty or the source pool");
        var source = await cells.FindAsync(InputRules.Name("source_cell", sourceCell)) ?? throw Fail.NotFound($"cell '{sourceCell}' not found");
        var target = await cells.FindAsync(InputRules.Name("target_cell", targetCell)) ?? throw Fail.NotFound($"cell '{targetCell}' not found");
        if (source.Name == target.Name)
            throw Fail.Invalid("source and target cell are the same");
        if (source.Pool != pool.Name || target.Pool != pool.Name)
            throw Fail.Precondition($"both cells must be in compute pool '{pool.Name}'");
        await commands.RequireReachableAsync(source);
        await commands.RequireReachableAsync(target);
        if (!target.Enabled)
            throw Fail.Precondition($"cell '{target.Name}' is disabled");

        var onSource = await guests.ListAsync(pool.Name, source.Name);
        List<GuestRow> moving;
        if (instances.Count == 0)
            moving = onSource.Where(g => g.Created).ToList();
        else
        {
            moving = [];
            foreach (var id in instances.Distinct())
                moving.Add(onSource.FirstOrDefault(g => g.Id.ToString() == id) ?? throw Fail.NotFound($"guest '{id}' is not on cell '{source.Name}'"));
        }
        if (moving.Count == 0)
            throw Fail.Precondition($"cell '{source.Name}' has no guests to migrate");
        if (moving.FirstOrDefault(g => !g.Created) is { } busy)
            throw Fail.Precondition($"guest '{busy.Name}' is being created");
        var shared = !string.IsNullOrEmpty(pool.Storage);
        if (moving.Where(g => g.Running).Select(g => LiveRefusal(g, source, target)).FirstOrDefault(r => r is not null) is { } refusal)
            throw Fail.Precondition(refusal);

        return await operations.StartAsync(Kind, source.Name, user, async (progress, ct) =>
        {
            var failures = new List<string>();
            for (var i = 0; i < moving.Count; i++)
            {
                var guest = moving[i];
                await progress.ReportAsync($"guest {guest.Name} ({i + 1} of {moving.Count})", i * 100 / moving.Count);
                try
                {
                    Func<int, Task> report = percent => progress.ReportAsync($"guest {guest.Name} ({i + 1} of {moving.Count})", (i * 100 + percent) / moving.Count);
                    // Flagged migrating, the guest cannot be started or stopped any more: its state now decides how it moves.
                    var current = await guests.FindAsync(guest.Id) ?? throw Fail.NotFound($"guest '{guest.Name}' is gone");
                    if (current.Running)
                        await MoveLiveAsync(current, source, target, shared, report, ct);
                    else
                    {
                        await MoveAsync(current, source.Name, target.Name, shared, report, ct);
                        await guests.FinishMigrationAsync(guest.Id, target.Name);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    await guests.FinishMigrationAsync(guest.Id, null);
                    var reason = Fail.Reason(e);
                    logger.LogWarning("Migrating guest {Guest} from {Source} to {Target} failed: {Reason}", guest.Name, source.Name, target.Name, reason);
                    failures.Add($"{guest.Name}: {reason}");
                }
            }
            if (failures.Count > 0)
                throw Fail.Precondition($"{failures.Count} of {moving.Count} guest(s) stayed on '{source.Name}': {string.Join("; ", failures)}");
        }, prepare: async operation =>
        {
            if (!await guests.MarkMigratingAsync([.. moving.Select(g => g.Id)], source.Name, target.Name, operation))
                throw Fail.Precondition("a guest to migrate is running, migrating already or gone");
        });
    }

    /// <summary>Why a running guest cannot move live from <paramref name="source"/> to <paramref name="target"/>; null when it can.</summary>
    private static string? LiveRefusal(GuestRow guest, CellRow source, CellRow target) =>
        guest.MediaSource is not null ? $"guest '{guest.Name}' is running with media in its CD-ROM drive: eject it first"
        : source.MigrationUri.Length == 0 ? $"guest '{guest.Name}' is running, but cell '{source.Name}' announces no migration URI for other cells to reach its libvirtd (nano-cell --migration-uri); stop it first"
        : CellEndpoints.MigrationUriRefusal(source.MigrationUri, source.Address) is { } hostile
            ? $"guest '{guest.Name}' is running, but the migration URI of cell '{source.Name}' is refused: {hostile}"
        : target.MigrationUri.Length == 0 ? $"guest '{guest.Name}' is running, but cell '{target.Name}' takes no live migrations (no nano-cell --migration-uri); stop it first"
        : CpuRules.LiveMigrationRefusal(guest.Name, guest.Cpu, PoolCpu.Of(source), PoolCpu.Of(target));

    /// <summary>
    /// A running guest: the target cell pulls its domain live from the source's libvirtd (libvirt managed migration) in
    /// its next generation; on local storage with the volumes copied (the target builds them over its own cached image
    /// first, and gets the cloud-init seed through the server). A failure leaves it running on the source. After a move
    /// the source drops the firewall its domain no longer needs, and on local storage its files.
    /// </summary>
    private async Task MoveLiveAsync(GuestRow guest, CellRow source, CellRow target, bool shared, Func<int, Task> progress, CancellationToken ct)
    {
        if (LiveRefusal(guest, source, target) is { } refusal)
            throw Fail.Precondition(refusal);
        var tickets = new List<ImageExports.Ticket>();
        try
        {
            var files = shared ? [] : await StageAsync(guest, source.Name, seedOnly: true, tickets, _ => Task.CompletedTask, ct);
            var moved = await commands.ImportAsync(target.Name, guest, guest.Generation + 1, await poolCpu.ForAsync(guest.Pool), files, "", new LiveOrigin(source.MigrationUri, source.Name, !shared),
                progress, ct);
            await guests.FinishMigrationAsync(guest.Id, target.Name, moved.Running, moved.Running ? moved.DisplayAddress : "");
        }
        finally
        {
            foreach (var ticket in tickets)
                ticket.Dispose();
        }
        try
        {
            await commands.ReleaseAsync(source.Name, guest, deleteFiles: !shared, ct);
        }
        catch (Exception e)
        {
            logger.LogWarning("Guest {Guest} moved live to {Target}, but {Source} kept its firewall or files: {Reason}", guest.Name, target.Name, source.Name, e.Message);
        }
    }

    /// <summary>
    /// Has <paramref name="source"/> push the guest's files (its volumes and cloud-init seed; the seed alone while it runs)
    /// to the server, each under a ticket added to <paramref name="tickets"/>; returns the files that came, under the
    /// names the source gave them (a guest may have no seed).
    /// </summary>
    private async Task<List<StagedVolume>> StageAsync(GuestRow guest, string source, bool seedOnly, List<ImageExports.Ticket> tickets,
        Func<int, Task> progress, CancellationToken ct)
    {
        var opened = Enumerable.Range(0, seedOnly ? 1 : guest.Disks.Length + 1).Select(_ => exports.Open()).ToList();
        tickets.AddRange(opened);
        var names = await commands.ExportVolumesAsync(source, guest, [.. opened.Select(t => t.Id)], seedOnly, progress, ct);
        return [.. names.Select((name, f) => opened[f].Peek() is { } staged ? new StagedVolume(opened[f].Id, name, staged.Sha256, staged.Size)
            : throw Fail.Precondition($"cell '{source}' named {name} but did not send it"))];
    }

    /// <summary>One guest: files (local storage) or only its definition (shared storage) to the target, then the source lets go.</summary>
    private async Task MoveAsync(GuestRow guest, string source, string target, bool shared, Func<int, Task> progress, CancellationToken ct)
    {
        var tickets = new List<ImageExports.Ticket>();
        try
        {
            List<StagedVolume> files = [];
            if (!shared)
            {
                // Its volumes, then the cloud-init seed if the guest has one.
                files = await StageAsync(guest, source, seedOnly: false, tickets, OperationProgress.Scaled(progress, 0, 50), ct);
                if (files.Count < guest.Disks.Length)
                    throw Fail.Precondition($"cell '{source}' sent {files.Count} of the guest's {guest.Disks.Length} volumes");
            }
            // The source lets go of the domain first: cells may share one libvirtd, where the names would clash.
            await commands.ReleaseAsync(source, guest, deleteFiles: false, ct);
            try
            {
                // The target defines the guest's next generation; a take-back keeps the current one.
                await commands.ImportAsync(target, guest, guest.Generation + 1, await poolCpu.ForAsync(guest.Pool), files, "", null, OperationProgress.Scaled(progress, 50, 100), ct);
            }
            catch
            {
                // The target cleaned up after itself; the source takes the guest back over its own files.
                try
                {
                    await commands.ImportAsync(source, guest, guest.Generation, await poolCpu.ForAsync(guest.Pool), [], "", null, null, CancellationToken.None);
                }
                catch (Exception e)
                {
                    logger.LogError("Guest {Guest} could not be defined again on {Source} after a failed migration: {Reason}", guest.Name, source, e.Message);
                }
                throw;
            }
            if (!shared)
            {
                try
                {
                    await commands.ReleaseAsync(source, guest, deleteFiles: true, ct);
                }
                catch (Exception e)
                {
                    logger.LogWarning("Guest {Guest} moved to {Target}, but {Source} kept its old files: {Reason}", guest.Name, target, source, e.Message);
                }
            }
        }
        finally
        {
            foreach (var ticket in tickets)
                ticket.Dispose();
        }
    }
}
