using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Images;

namespace Nano.Server.Hosting;

/// <summary>
/// At start-up, what a previous server process left unfinished: guests whose creation, reset or move was cut off are
/// reconciled with their cells (<see cref="GuestRecovery"/>, which resumes their operations); every other unfinished
/// operation is marked failed, for nothing runs it any more. Image writes they held are released, disk images whose
/// clone never finished are removed (row and file), uploads left half-written are removed from the staging folder (the
/// image stays as it was before the upload), and unfinished batch items fail.
/// </summary>
public sealed class OperationRecovery(
    Operations operations, GuestRecovery guests, ImageRepository images, ImageStore store, BatchRepository batches, ILogger<OperationRecovery> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await guests.StartAsync();
        await operations.AbandonOrphansAsync();
        await batches.AbandonAsync(Batches.Running);
        var clones = await images.RecoverAsync();
        foreach (var id in clones)
            store.Delete(ImageKinds.Disk, id);
        var uploads = store.SweepStaged();
        if (clones.Count + uploads > 0)
            logger.LogWarning("Recovery removed {Clones} disk image clone(s) and {Uploads} upload(s) a stopped server left unfinished", clones.Count, uploads);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
