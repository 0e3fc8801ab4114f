using System.Collections.Concurrent;
using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Failover (api-decisions.md 4.1): the guests of a cell of a failover pool (on shared storage) that stays lost move to the
/// pool's other cells in their next generation, each as an operation, without the lost cell taking part.
/// </summary>
public sealed class Failover(
    GuestRepository guests, CellRepository cells, CellCommands commands, PoolCpu poolCpu, Operations operations, ILogger<Failover> logger)
{
    public const string Kind = OperationKinds.FailoverGuest;

    /// <summary>When each guest whose failover failed may be tried again.</summary>
    private readonly ConcurrentDictionary<Guid, DateTime> _retry = new();

    /// <summary>
    /// One pass: a cell of a failover pool lost for longer than <paramref name="graceSeconds"/> is disabled
    /// (until an administrator enables it again), and each of its guests moves to an alive, enabled cell of the pool in
    /// its next generation, as its own operation; guests that were running or start automatically are started there. A
    /// guest whose move fails stays with the lost cell and is tried again after the grace period.
    /// </summary>
    public async Task RunAsync(int graceSeconds)
    {
        foreach (var (lost, pool) in await cells.ListLostAsync(graceSeconds))
        {
            var now = DateTime.UtcNow;
            var waiting = (await guests.ListAsync(pool, lost))
                .Where(g => g.Created && !g.Migrating && _retry.GetValueOrDefault(g.Id) <= now).ToList();
            if (waiting.Count == 0)
                continue;
            if (await cells.SetEnabledAsync(lost, false))
                logger.LogWarning("Cell {Cell} of failover pool {Pool} is lost: disabled, its guests move to the other cells", lost, pool);
            var candidates = (await cells.ListAsync(pool)).Where(c => c.Name != lost).ToList();
            foreach (var guest in waiting)
            {
                _retry[guest.Id] = now.AddSeconds(graceSeconds);
                CellRow target;
                try
                {
                    target = Scheduler.Choose(pool, candidates, guest.Cores, guest.Memory, 0);
                }
                catch (Grpc.Core.RpcException e)
                {
                    logger.LogWarning("Guest {Guest} of lost cell {Cell} has nowhere to go: {Reason}", guest.Name, lost, e.Status.Detail);
                    continue;
                }
                if (!await guests.MarkFailingOverAsync(guest.Id, lost, target.Name))
                    continue;
                // The next guest sees the memory this one takes there.
                candidates[candidates.IndexOf(target)] = target with { AvailableMemory = target.AvailableMemory - guest.Memory };
                try
                {
                    await operations.StartAsync(Kind, guest.Id.ToString(), "system",
                        (progress, ct) => FailOverAsync(guest, lost, target.Name, progress, ct), prepare: operation => guests.AttachOperationAsync(guest.Id, operation));
                }
                catch
                {
                    await guests.FinishMigrationAsync(guest.Id, null);
                    throw;
                }
            }
        }
    }

    /// <summary>
    /// Defines a lost cell's guest on <paramref name="target"/> over its files on the shared storage (a stale copy in the
    /// target's own libvirtd, when the cells share one, is powered off first), then starts it there if it should run.
    /// </summary>
    private async Task FailOverAsync(GuestRow guest, string lost, string target, OperationProgress progress, CancellationToken ct)
    {
        var generation = guest.Generation + 1;
        var stage = $"guest {guest.Name} from lost cell {lost} to {target}";
        await progress.ReportAsync(stage, 10);
        try
        {
            await commands.ImportAsync(target, guest, generation, await poolCpu.ForAsync(guest.Pool), [], lost, null, progress.Within(stage, 10, 60), ct);
        }
        catch
        {
            await guests.FinishMigrationAsync(guest.Id, null);
            throw;
        }
        await guests.FinishMigrationAsync(guest.Id, target);
        _retry.TryRemove(guest.Id, out _);
        logger.LogWarning("Guest {Guest} failed over from lost cell {Lost} to {Target} (generation {Generation})", guest.Name, lost, target, generation);
        if (guest.Running || guest.AutoStart)
        {
            await progress.ReportAsync($"starting guest {guest.Name} on {target}", 70);
            var started = await commands.StartOnAsync(target, guest.Id, generation, await poolCpu.ForAsync(guest.Pool), ct);
            await guests.SetDisplayAsync(guest.Id, started.Running, started.DisplayAddress, started.Cpu);
        }
        await progress.ReportAsync("done", 100);
    }
}
