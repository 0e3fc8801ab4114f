using Microsoft.Extensions.Options;
using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;
using Nano.Server.Hosting;
using Nano.Server.Images;
using Nano.Server.Replicas;

namespace Nano.Server.Domain;

/// <summary>
/// Work a stopped server left half-done on guests, finished or undone at start-up. A guest not created (its creation
/// or system reset was cut off) or still migrating (a migration or failover was) is reconciled with what its cells
/// really have, as they come back: the operation that was cut off is resumed to do it (or, when none is left
/// unfinished, a recover_guest operation), and ends saying which way each guest went. Cells are asked with
/// InspectInstance, which a cell answers only after every earlier command for that guest has ended, so the answer is
/// never a half-built domain.
/// <list type="bullet">
/// <item>A creation is finished when the cell has the guest's domain (the last thing a cell makes; started if it
/// starts automatically), and undone otherwise (files, address, row), also when the cell stays away longer than
/// <see cref="NanoOptions.RecoveryWaitSeconds"/>: its domain, if it made one, is then removed when it rejoins.</item>
/// <item>A system reset is run again with the image the row names (a reset replaces the system volume in one rename,
/// so the guest's disk was the old or the new one, never a mix).</item>
/// <item>A move is finished when the target has the guest's domain in its next generation (the source lets its copy go
/// as after any move), and undone otherwise: the guest stays with its source, defined there again over its own files
/// if a cold migration had already let it go.</item>
/// </list>
/// </summary>
public sealed class GuestRecovery(
    GuestRepository guests, Operations operations, CellCommands commands, ComputePoolRepository pools,
    ImageRepository images, PoolCpu poolCpu, ReplicaIdentity self, IOptions<NanoOptions> options, ILogger<GuestRecovery> logger)
{
    /// <summary>What was cut off for a guest.</summary>
    private enum Work { Creation, Reset, Move }

    /// <summary>
    /// Resumes (or starts) the operations that reconcile every guest left unsettled by a replica that is not alive (see
    /// <see cref="ReplicaIdentity"/>); they run on their own, here, waiting for cells. A guest whose work a live replica
    /// runs is that replica's.
    /// </summary>
    public async Task StartAsync()
    {
        foreach (var group in (await guests.ListUnsettledAsync(self.Id, self.Liveness)).GroupBy(g => g.Operation))
        {
            var cutOff = group.Key is { } id ? await operations.FindAsync(id) : null;
            var unsettled = group.ToList();
            logger.LogWarning("Recovering {Count} guest(s) whose {Kind} a stopped server left unfinished: {Guests}",
                unsettled.Count, cutOff?.Kind ?? "work", string.Join(", ", unsettled.Select(g => g.Name)));
            if (cutOff is { FinishedAt: null })
                await operations.ResumeAsync(cutOff.Id, cutOff.Kind, (progress, ct) => RecoverAsync(unsettled, cutOff.Kind, progress, ct));
            else
            {
                foreach (var guest in unsettled)
                {
                    await operations.StartAsync(OperationKinds.RecoverGuest, guest.Id.ToString(), "system",
                        (progress, ct) => RecoverAsync([guest], cutOff?.Kind ?? "", progress, ct), prepare: operation => guests.AttachOperationAsync(guest.Id, operation));
                }
            }
        }
    }

    /// <summary>Reconciles each guest in turn; fails (saying what was undone) unless every one was finished.</summary>
    private async Task RecoverAsync(IReadOnlyList<GuestRow> unsettled, string kind, OperationProgress progress, CancellationToken ct)
    {
        var undone = new List<string>();
        for (var i = 0; i < unsettled.Count; i++)
        {
            var guest = unsettled[i];
            var work = guest.Migrating ? Work.Move : kind == OperationKinds.ResetSystem ? Work.Reset : Work.Creation;
            await progress.ReportAsync($"recovering guest {guest.Name} after a server restart", i * 100 / unsettled.Count);
            string? refusal;
            try
            {
                refusal = work switch
                {
                    Work.Creation => await RecoverCreationAsync(guest, ct),
                    Work.Reset => await RecoverResetAsync(guest, ct),
                    _ => await RecoverMoveAsync(guest, kind == OperationKinds.FailoverGuest, ct),
                };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A cell that fails mid-way: the guest is left as safe as it gets, and the operation says so.
                refusal = $"{Fail.Reason(e)}; {await SettleAsync(guest, work)}";
            }
            if (refusal is null)
                logger.LogWarning("Recovery finished the {Work} of guest {Guest}", work, guest.Name);
            else
            {
                logger.LogWarning("Recovery undid the {Work} of guest {Guest}: {Reason}", work, guest.Name, refusal);
                undone.Add($"{guest.Name}: {refusal}");
            }
        }
        if (undone.Count > 0)
            throw Fail.Precondition($"the server stopped while this operation ran; recovery undid it for {undone.Count} of {unsettled.Count} guest(s): {string.Join("; ", undone)}");
        await progress.ReportAsync("the server stopped while this operation ran; recovery finished it", 100);
    }

    /// <summary>Null when the creation was finished; otherwise why it was undone.</summary>
    private async Task<string?> RecoverCreationAsync(GuestRow guest, CancellationToken ct)
    {
        var cell = guest.Cell!;
        if (!await ReachAsync(cell, ct))
            return $"cell '{cell}' did not come back within {options.Value.RecoveryWaitSeconds} s: {await SettleAsync(guest, Work.Creation)}";
        var found = await commands.InspectAsync(cell, guest.Id, ct);
        if (!found.Defined)
        {
            await commands.ForgetAsync(cell, guest.Id);
            await guests.AbandonAsync(guest.Id, cell);
            return $"cell '{cell}' had not finished it: the guest, its files and address are removed";
        }
        await guests.MarkCreatedAsync(guest.Id, found.Domain.Running, found.Domain.DisplayAddress, found.Domain.Cpu);
        if (guest.AutoStart && !found.Domain.Running)
            await StartAfterwardsAsync(guest, cell, guest.Generation, ct);
        return null;
    }

    /// <summary>A step after a guest's work is settled: its failure is logged, the work stays finished.</summary>
    private async Task AfterwardsAsync(GuestRow guest, string step, Func<Task> run)
    {
        try
        {
            await run();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Recovering guest {Guest}: {Step} failed: {Reason}", guest.Name, step, Fail.Reason(e));
        }
    }

    /// <summary>Starts the guest's domain of <paramref name="generation"/> on <paramref name="cell"/> once its work is settled, as <see cref="AfterwardsAsync"/>.</summary>
    private Task StartAfterwardsAsync(GuestRow guest, string cell, long generation, CancellationToken ct) =>
        AfterwardsAsync(guest, $"starting it on '{cell}'", async () =>
        {
            var started = await commands.StartOnAsync(cell, guest.Id, generation, await poolCpu.ForAsync(guest.Pool), ct);
            await guests.SetDisplayAsync(guest.Id, started.Running, started.DisplayAddress, started.Cpu);
        });

    /// <summary>Null when the reset was run again to its end; otherwise why the guest is back without it.</summary>
    private async Task<string?> RecoverResetAsync(GuestRow guest, CancellationToken ct)
    {
        if (!await ReachAsync(guest.Cell!, ct))
            return $"{await SettleAsync(guest, Work.Reset)}: cell '{guest.Cell}' did not come back within {options.Value.RecoveryWaitSeconds} s; reset it again";
        var image = guest.SystemImage is { } id ? await images.FindAsync(ImageKinds.Disk, id) : null;
        if (guest.SystemImage is not null && image is null)
            return $"{await SettleAsync(guest, Work.Reset)}: its disk image is gone; reset it again";
        await commands.ResetSystemAsync(guest, image, null, ct);
        await guests.MarkRebuiltAsync(guest.Id);
        return null;
    }

    /// <summary>Null when the move was finished at its target; otherwise why the guest stays with its source.</summary>
    private async Task<string?> RecoverMoveAsync(GuestRow guest, bool failover, CancellationToken ct)
    {
        var (source, target) = (guest.Cell!, guest.MigratingTo);
        var shared = await pools.FindAsync(guest.Pool) is { Storage.Length: > 0 };
        if (target is null)
            return $"{await SettleAsync(guest, Work.Move)}: where it was going is not recorded";
        if (!await ReachAsync(target, ct))
            return $"{await SettleAsync(guest, Work.Move)}: cell '{target}' did not come back within {options.Value.RecoveryWaitSeconds} s";
        var there = await commands.InspectAsync(target, guest.Id, ct);
        if (there.Defined && there.Generation == guest.Generation + 1)
        {
            var domain = there.Domain;
            await guests.FinishMigrationAsync(guest.Id, target, domain.Running, domain.Running ? domain.DisplayAddress : "");
            if (!failover && await commands.IsConnectedAsync(source))
                await AfterwardsAsync(guest, $"letting '{source}' drop its copy", () => commands.ReleaseAsync(source, guest, deleteFiles: !shared, ct));
            if (failover && (guest.Running || guest.AutoStart) && !domain.Running)
                await StartAfterwardsAsync(guest, target, guest.Generation + 1, ct);
            return null;
        }
        // Not there: the guest stays with its source. A cold migration may have had the source let it go already.
        if (!failover && await ReachAsync(source, ct) && !(await commands.InspectAsync(source, guest.Id, ct)).Defined)
            await commands.ImportAsync(source, guest, guest.Generation, await poolCpu.ForAsync(guest.Pool), [], "", null, null, ct);
        await guests.FinishMigrationAsync(guest.Id, null);
        return $"cell '{target}' did not have it: the guest stays on '{source}'";
    }

    /// <summary>
    /// After a failure part-way through recovery: the guest is made usable again without deciding for the cell (a reset
    /// or creation keeps its row, marked created only for a reset; a move clears its flag). Says what was done.
    /// </summary>
    private async Task<string> SettleAsync(GuestRow guest, Work work)
    {
        switch (work)
        {
            case Work.Move:
                await guests.FinishMigrationAsync(guest.Id, null);
                return $"the guest stays on '{guest.Cell}'";
            case Work.Reset:
                await guests.MarkRebuiltAsync(guest.Id);
                return "the guest's system disk is the old or the new one";
            default:
                await guests.AbandonAsync(guest.Id, guest.Cell!);
                return "the guest and its address are removed (its domain, if its cell made one, when the cell rejoins)";
        }
    }

    /// <summary>Waits until <paramref name="cell"/> is connected; false when it is not within the recovery wait.</summary>
    private Task<bool> ReachAsync(string cell, CancellationToken ct) =>
        commands.WaitConnectedAsync(cell, TimeSpan.FromSeconds(options.Value.RecoveryWaitSeconds), ct);
}
