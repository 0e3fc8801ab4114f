using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Statistics of the zone, pools and cells (#17-#21) and the guests they host (#24-#25).</summary>
public sealed class StatusService(ComputePoolRepository pools, CellRepository cells, GuestRepository guests, GuestAccess access, ServerClock clock)
    : Contracts.V1.StatusService.StatusServiceBase
{
    public override async Task<GetZoneStatusResponse> GetZoneStatus(GetZoneStatusRequest request, ServerCallContext context) =>
        new() { Data = StatusMessages.ToZoneStatus(await cells.ZoneTotalsAsync(), clock.StartedAt) };

    public override async Task<ListPoolStatusResponse> ListPoolStatus(ListPoolStatusRequest request, ServerCallContext context)
    {
        var totals = await cells.TotalsByPoolAsync();
        return new ListPoolStatusResponse
        {
            Data = { (await pools.ListAsync()).Select(p => StatusMessages.ToPoolStatus(p, ZoneStatistics.From(totals.GetValueOrDefault(p.Name, CellTotals.None)), truncateCpu: true)) },
        };
    }

    public override async Task<GetPoolStatusResponse> GetPoolStatus(GetPoolStatusRequest request, ServerCallContext context)
    {
        var pool = await FindPoolAsync(request.Pool);
        return new GetPoolStatusResponse { Data = StatusMessages.ToPoolStatus(pool, ZoneStatistics.From(await cells.TotalsAsync(pool.Name)), truncateCpu: false) };
    }

    /// <summary>#20/#21 on one path: a pool name answers the list of its cells, a cell name that cell (A1).</summary>
    public override async Task<QueryCellStatusResponse> QueryCellStatus(QueryCellStatusRequest request, ServerCallContext context)
    {
        InputRules.Name("compute pool or cell", request.Name);
        if (await pools.FindAsync(request.Name) is { } pool)
        {
            var list = (await cells.ListAsync(pool.Name)).Select(c => ProtoValues.Of(StatusMessages.ToCellStatus(c, truncateCpu: true)));
            return new QueryCellStatusResponse { Data = Google.Protobuf.WellKnownTypes.Value.ForList([.. list]) };
        }
        var cell = await cells.FindAsync(request.Name) ?? throw Fail.NotFound($"'{request.Name}' is neither a compute pool nor a cell");
        return new QueryCellStatusResponse { Data = ProtoValues.Of(StatusMessages.ToCellStatus(cell, truncateCpu: false)) };
    }

    public override async Task<ListPoolCellStatusResponse> ListPoolCellStatus(ListPoolCellStatusRequest request, ServerCallContext context)
    {
        var pool = await FindPoolAsync(request.Pool);
        return new ListPoolCellStatusResponse { Data = { (await cells.ListAsync(pool.Name)).Select(c => StatusMessages.ToCellStatus(c, truncateCpu: true)) } };
    }

    public override async Task<GetCellStatusResponse> GetCellStatus(GetCellStatusRequest request, ServerCallContext context)
    {
        var pool = await FindPoolAsync(request.Pool);
        InputRules.Name("cell", request.Cell);
        var cell = await cells.FindAsync(request.Cell);
        if (cell is null || cell.Pool != pool.Name)
            throw Fail.NotFound($"cell '{request.Cell}' is not in compute pool '{pool.Name}'");
        return new GetCellStatusResponse { Data = StatusMessages.ToCellStatus(cell, truncateCpu: false) };
    }

    /// <summary>
    /// #24/#25 on one path: a pool name lists the pool's guests, a cell name that cell's (A2); or both segments. Only the
    /// guests the session may read are listed.
    /// </summary>
    public override async Task<ListInstanceStatusResponse> ListInstanceStatus(ListInstanceStatusRequest request, ServerCallContext context)
    {
        string pool;
        string? cell = null;
        if (!string.IsNullOrEmpty(request.Pool))
        {
            pool = (await FindPoolAsync(request.Pool)).Name;
            cell = InputRules.Name("cell", request.Cell);
            if ((await cells.FindAsync(cell))?.Pool != pool)
                throw Fail.NotFound($"cell '{cell}' is not in compute pool '{pool}'");
        }
        else
        {
            InputRules.Name("compute pool or cell", request.Name);
            if (await pools.FindAsync(request.Name) is { } found)
            {
                pool = found.Name;
            }
            else
            {
                var hosting = await cells.FindAsync(request.Name) ?? throw Fail.NotFound($"'{request.Name}' is neither a compute pool nor a cell");
                pool = hosting.Pool ?? throw Fail.NotFound($"cell '{hosting.Name}' is in no compute pool");
                cell = hosting.Name;
            }
        }
        // The guests the session may read, as in the guest list: its own and its visible group's; all for user administrators.
        var session = SessionInterceptor.SessionOf(context);
        var listed = await guests.ListVisibleAsync(pool, cell, AccessRules.ListedOwner(session), await access.VisibleGroupAsync(session));
        return new ListInstanceStatusResponse { Data = { listed.Select(GuestMessages.ToGuest) } };
    }

    private async Task<ComputePoolRow> FindPoolAsync(string name)
    {
        InputRules.Name("compute pool", name);
        return await pools.FindAsync(name) ?? throw Fail.NotFound($"compute pool '{name}' not found");
    }
}
