using Nano.Server.Domain;

namespace Nano.Server.Hosting;

/// <summary>At start-up, operations a previous server process left unfinished are marked failed: nothing runs them.</summary>
public sealed class OperationRecovery(Operations operations) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => operations.AbandonOrphansAsync();

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
