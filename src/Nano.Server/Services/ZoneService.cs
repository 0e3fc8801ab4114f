using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Streaming watchers over zone and cell statistics: a snapshot, then updates as cells report.</summary>
public sealed class ZoneService(
    ComputePoolRepository pools, CellRepository cells, CellStatusFeed feed, ServerClock clock, IHostApplicationLifetime lifetime)
    : Contracts.V1.ZoneService.ZoneServiceBase
{
    public override async Task WatchZoneStatus(WatchZoneStatusRequest request, IServerStreamWriter<WatchZoneStatusResponse> responseStream, ServerCallContext context)
    {
        var interval = Interval(request.IntervalMs);
        using var ending = Ending(context);
        await using var changes = new CoalescedChanges(feed, interval, ending.Token);
        do
        {
            var zone = StatusMessages.ToZoneStatus(await cells.ZoneTotalsAsync(), clock.StartedAt);
            await responseStream.WriteAsync(new WatchZoneStatusResponse { Data = zone }, context.CancellationToken);
        } while (await changes.NextAsync() is not null);
    }

    public override async Task WatchCellStatus(WatchCellStatusRequest request, IServerStreamWriter<WatchCellStatusResponse> responseStream, ServerCallContext context)
    {
        var pool = InputRules.OptionalName("compute pool", request.Pool);
        if (pool is not null && await pools.FindAsync(pool) is null)
            throw Fail.NotFound($"compute pool '{pool}' not found");
        var interval = Interval(request.IntervalMs);
        using var ending = Ending(context);
        await using var changes = new CoalescedChanges(feed, interval, ending.Token);
        IReadOnlySet<string>? changed = null;
        do
        {
            var watched = (await cells.ListAsync(pool)).Where(c => c.Pool is not null && (changed is null || changed.Contains(c.Name)));
            foreach (var cell in watched)
                await responseStream.WriteAsync(new WatchCellStatusResponse { Data = StatusMessages.ToCellStatus(cell, truncateCpu: false) }, context.CancellationToken);
            changed = await changes.NextAsync();
        } while (changed is not null);
    }

    /// <summary>A watch ends when its client leaves or the server stops (it would hold up shutdown).</summary>
    private CancellationTokenSource Ending(ServerCallContext context) =>
        CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);

    private static TimeSpan Interval(int milliseconds) => TimeSpan.FromMilliseconds(milliseconds == 0 ? 1000 : Math.Max(100, milliseconds));
}
