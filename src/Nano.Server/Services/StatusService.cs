using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;

namespace Nano.Server.Services;

/// <summary>Statistics of the zone, pools and cells (#17-#21) and the guests they host (#24-#25).</summary>
public sealed class StatusService(ComputePoolRepository pools, CellRepository cells, GuestRepository guests, ServerClock clock)
    : Contracts.V1.StatusService.StatusServiceBase
{
    public override async Task<GetZoneStatusResponse> GetZoneStatus(GetZoneStatusRequest request, ServerCallContext context)
    {
        var allPools = await pools.ListAsync();
        var pooled = (await cells.ListAsync(pool: null)).Where(c => c.Pool is not null).ToList();
        var s = ZoneStatistics.Of(pooled);
        return new GetZoneStatusResponse
        {
            Data = new ZoneStatus
            {
                Name = "default",
                Pools = { allPools.Count(p => !p.Enabled), allPools.Count(p => p.Enabled) },
                Cells = { s.Cells }, Instances = { s.Instances },
                CpuUsage = s.CpuUsage, MaxCpu = s.MaxCpu, AvailableMemory = s.AvailableMemory, MaxMemory = s.MaxMemory,
                AvailableDisk = s.AvailableDisk, MaxDisk = s.MaxDisk, ReadSpeed = s.ReadSpeed, WriteSpeed = s.WriteSpeed,
                ReceiveSpeed = s.ReceiveSpeed, SendSpeed = s.SendSpeed,
                StartTime = NanoTime.Print(clock.StartedAt),
            },
        };
    }

    public override async Task<ListPoolStatusResponse> ListPoolStatus(ListPoolStatusRequest request, ServerCallContext context)
    {
        var all = await cells.ListAsync(pool: null);
        return new ListPoolStatusResponse
        {
            Data = { (await pools.ListAsync()).Select(p => ToPoolStatus(p, all.Where(c => c.Pool == p.Name).ToList(), truncateCpu: true)) },
        };
    }

    public override async Task<GetPoolStatusResponse> GetPoolStatus(GetPoolStatusRequest request, ServerCallContext context)
    {
        var pool = await FindPoolAsync(request.Pool);
        return new GetPoolStatusResponse { Data = ToPoolStatus(pool, await cells.ListAsync(pool.Name), truncateCpu: false) };
    }

    /// <summary>#20/#21 on one path: a pool name answers the list of its cells, a cell name that cell (A1).</summary>
    public override async Task<QueryCellStatusResponse> QueryCellStatus(QueryCellStatusRequest request, ServerCallContext context)
    {
        ZoneRules.Name("compute pool or cell", request.Name);
        if (await pools.FindAsync(request.Name) is { } pool)
        {
            var list = (await cells.ListAsync(pool.Name)).Select(c => ProtoValues.Of(ToCellStatus(c, truncateCpu: true)));
            return new QueryCellStatusResponse { Data = Google.Protobuf.WellKnownTypes.Value.ForList([.. list]) };
        }
        var cell = await cells.FindAsync(request.Name) ?? throw Fail.NotFound($"'{request.Name}' is neither a compute pool nor a cell");
        return new QueryCellStatusResponse { Data = ProtoValues.Of(ToCellStatus(cell, truncateCpu: false)) };
    }

    public override async Task<ListPoolCellStatusResponse> ListPoolCellStatus(ListPoolCellStatusRequest request, ServerCallContext context)
    {
        var pool = await FindPoolAsync(request.Pool);
        return new ListPoolCellStatusResponse { Data = { (await cells.ListAsync(pool.Name)).Select(c => ToCellStatus(c, truncateCpu: true)) } };
    }

    public override async Task<GetCellStatusResponse> GetCellStatus(GetCellStatusRequest request, ServerCallContext context)
    {
        var pool = await FindPoolAsync(request.Pool);
        ZoneRules.Name("cell", request.Cell);
        var cell = await cells.FindAsync(request.Cell);
        if (cell is null || cell.Pool != pool.Name)
            throw Fail.NotFound($"cell '{request.Cell}' is not in compute pool '{pool.Name}'");
        return new GetCellStatusResponse { Data = ToCellStatus(cell, truncateCpu: false) };
    }

    /// <summary>#24/#25 on one path: a pool name lists the pool's guests, a cell name that cell's (A2); or both segments.</summary>
    public override async Task<ListInstanceStatusResponse> ListInstanceStatus(ListInstanceStatusRequest request, ServerCallContext context)
    {
        string pool;
        string? cell = null;
        if (!string.IsNullOrEmpty(request.Pool))
        {
            pool = (await FindPoolAsync(request.Pool)).Name;
            cell = ZoneRules.Name("cell", request.Cell);
            if ((await cells.FindAsync(cell))?.Pool != pool)
                throw Fail.NotFound($"cell '{cell}' is not in compute pool '{pool}'");
        }
        else
        {
            ZoneRules.Name("compute pool or cell", request.Name);
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
        return new ListInstanceStatusResponse { Data = { (await guests.ListAsync(pool, cell)).Select(GuestMessages.ToGuest) } };
    }

    private async Task<ComputePoolRow> FindPoolAsync(string name)
    {
        ZoneRules.Name("compute pool", name);
        return await pools.FindAsync(name) ?? throw Fail.NotFound($"compute pool '{name}' not found");
    }

    /// <summary>Upstream truncates cpu_usage to an integer in the list routes (#18, #20).</summary>
    private static double Cpu(double value, bool truncate) => truncate ? Math.Truncate(value) : value;

    private static PoolStatus ToPoolStatus(ComputePoolRow pool, IReadOnlyCollection<CellRow> poolCells, bool truncateCpu)
    {
        var s = ZoneStatistics.Of(poolCells);
        return new PoolStatus
        {
            Name = pool.Name, Enabled = pool.Enabled, Cells = { s.Cells }, Instances = { s.Instances },
            CpuUsage = Cpu(s.CpuUsage, truncateCpu), MaxCpu = s.MaxCpu, AvailableMemory = s.AvailableMemory, MaxMemory = s.MaxMemory,
            AvailableDisk = s.AvailableDisk, MaxDisk = s.MaxDisk, ReadSpeed = s.ReadSpeed, WriteSpeed = s.WriteSpeed,
            ReceiveSpeed = s.ReceiveSpeed, SendSpeed = s.SendSpeed,
        };
    }

    /// <summary>An offline cell reports no usage, only its counters.</summary>
    internal static CellStatus ToCellStatus(CellRow c, bool truncateCpu)
    {
        var s = ZoneStatistics.Of([c]);
        return new CellStatus
        {
            Name = c.Name, Address = c.Address, Enabled = c.Enabled, Alive = c.Alive, Instances = { s.Instances },
            CpuUsage = Cpu(s.CpuUsage, truncateCpu), MaxCpu = s.MaxCpu, AvailableMemory = s.AvailableMemory, MaxMemory = s.MaxMemory,
            AvailableDisk = s.AvailableDisk, MaxDisk = s.MaxDisk, ReadSpeed = s.ReadSpeed, WriteSpeed = s.WriteSpeed,
            ReceiveSpeed = s.ReceiveSpeed, SendSpeed = s.SendSpeed,
        };
    }
}
