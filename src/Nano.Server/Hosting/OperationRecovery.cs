using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Images;

namespace Nano.Server.Hosting;

/// <summary>
/// At start-up, operations a previous server process left unfinished are marked failed: nothing runs
/// them. Image writes they held are released, disk images whose clone never finished are removed, and
/// unfinished batch items fail.
/// </summary>
public sealed class OperationRecovery(Operations operations, ImageRepository images, ImageStore store, BatchRepository batches) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await operations.AbandonOrphansAsync();
        await batches.AbandonAsync(Batches.Running);
        foreach (var id in await images.RecoverAsync())
            store.Delete(ImageKinds.Disk, id);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
