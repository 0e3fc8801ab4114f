using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Images;

namespace Nano.Server.Replicas;

/// <summary>
/// On the leader: what dead replicas left unfinished, taken over once each is found dead (its registry row older than the
/// liveness window; at once for an earlier run of a replica that starts again on the same address), and once when a
/// replica becomes leader (work recorded before replicas were). Guests whose creation, reset or move was cut off are
/// reconciled with their cells (<see cref="GuestRecovery"/>, which resumes their operations here); every other
/// operation they ran is marked failed, for nothing runs it any more. Image writes they held are released, disk images
/// whose clone never finished are removed (row and file), files they were receiving are removed from the staging folder
/// (the image stays as it was before the upload), and the unfinished items of their batches fail. A live replica's work
/// is never touched. The dead replicas' rows go last, once all of that is done.
/// </summary>
public sealed class ReplicaRecovery(
    Leadership leadership, ReplicaIdentity self, ReplicaRepository replicas, Operations operations, GuestRecovery guests, ImageRepository images,
    ImageStore store, BatchRepository batches, ILogger<ReplicaRecovery> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        DateTime? recoveredInTerm = null;
        using var timer = new PeriodicTimer(self.Beat);
        do
        {
            if (!leadership.IsLeader)
                continue;
            try
            {
                var dead = await replicas.ListDeadAsync(self.Id, self.Liveness);
                if (dead.Count == 0 && recoveredInTerm == leadership.Since)
                    continue;
                var term = leadership.Since;
                await RecoverAsync(dead);
                recoveredInTerm = term;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Recovering the work of dead replicas failed; the next turn tries again");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task RecoverAsync(IReadOnlyList<Guid> dead)
    {
        if (dead.Count > 0)
            logger.LogWarning("Replica(s) {Replicas} are dead: recovering what they left unfinished", string.Join(", ", dead));
        await guests.StartAsync();
        await operations.AbandonOrphansAsync();
        await batches.AbandonAsync(Batches.Running, self.Id, self.Liveness);
        var clones = await images.RecoverAsync();
        foreach (var id in clones)
            store.Delete(ImageKinds.Disk, id);
        var alive = (await replicas.ListLiveAsync(self.Liveness)).Select(r => r.Id).Append(self.Id).ToHashSet();
        var staged = store.SweepStaged(alive);
        if (clones.Count + staged > 0)
            logger.LogWarning("Recovery removed {Clones} disk image clone(s) and {Staged} staged file(s) that dead replicas left unfinished", clones.Count, staged);
        if (dead.Count > 0)
            await replicas.DeleteAsync(dead);
    }
}
