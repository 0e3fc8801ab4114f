using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Images;

namespace Nano.Server.Hosting;

/// <summary>
/// At start-up, operations a previous server process left unfinished are marked failed: nothing runs
/// them. Image writes they held are released, and disk images whose clone never finished are removed.
/// </summary>
public sealed class OperationRecovery(Operations operations, ImageRepository images, ImageStore store) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await operations.AbandonOrphansAsync();
        foreach (var id in await images.RecoverAsync())
            store.Delete(ImageKinds.Disk, id);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
