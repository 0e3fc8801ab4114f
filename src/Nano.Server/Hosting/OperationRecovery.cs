using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Images;

namespace Nano.Server.Hosting;

/// <summary>
/// At start-up, what a previous server process left unfinished: guests whose creation, reset or move was cut off are
/// reconciled with their cells (<see cref="GuestRecovery"/>, which resumes their operations); every other unfinished
/// operation is marked failed, for nothing runs it any more. Image writes they held are released, disk images whose
/// clone never finished are removed, and unfinished batch items fail.
/// </summary>
public sealed class OperationRecovery(Operations operations, GuestRecovery guests, ImageRepository images, ImageStore store, BatchRepository batches) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await guests.StartAsync();
        await operations.AbandonOrphansAsync();
        await batches.AbandonAsync(Batches.Running);
        foreach (var id in await images.RecoverAsync())
            store.Delete(ImageKinds.Disk, id);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
