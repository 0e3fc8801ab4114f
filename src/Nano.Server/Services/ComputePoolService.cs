using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Compute pools (#1-#5) and their cells (#6-#11).</summary>
public sealed class ComputePoolService(
    ComputePoolRepository pools, StoragePoolRepository storagePools, AddressPoolRepository addressPools, CellRepository cells, PoolMembership membership,
    UnknownDomains unknownDomains)
    : Contracts.V1.ComputePoolService.ComputePoolServiceBase
{
    public override async Task<ListComputePoolsResponse> ListComputePools(ListComputePoolsRequest request, ServerCallContext context) =>
        new() { Data = { (await pools.ListAsync()).Select(ToMessage) } };

    public override async Task<GetComputePoolResponse> GetComputePool(GetComputePoolRequest request, ServerCallContext context) =>
        new() { Data = ToMessage(await FindAsync(request.Pool)) };

    public override async Task<CreateComputePoolResponse> CreateComputePool(CreateComputePoolRequest request, ServerCallContext context)
    {
        var (storage, network) = await SettingsAsync(request.Storage, request.Network, request.Failover);
        var name = InputRules.Name("compute pool", request.Pool);
        await pools.CreateAsync(name, storage, network, request.Failover, CpuRules.Setting(request.Cpu)).OrFail(
            exists: $"compute pool '{name}' already exists", missing: MissingReference(storage, network));
        return new CreateComputePoolResponse();
    }

    public override async Task<DeleteComputePoolResponse> DeleteComputePool(DeleteComputePoolRequest request, ServerCallContext context)
    {
        var name = InputRules.Name("compute pool", request.Pool);
        await pools.DeleteAsync(name).OrFail(missing: $"compute pool '{name}' not found", inUse: $"compute pool '{name}' still has cells");
        return new DeleteComputePoolResponse();
    }

    public override async Task<ModifyComputePoolResponse> ModifyComputePool(ModifyComputePoolRequest request, ServerCallContext context)
    {
        var name = InputRules.Name("compute pool", request.Pool);
        var (storage, network) = await SettingsAsync(request.Storage, request.Network, request.Failover);
        var cpu = CpuRules.Setting(request.Cpu);
        if (CpuRules.SettingRefusal(name, cpu, (await cells.ListAsync(name)).Select(PoolCpu.Of)) is { } refusal)
            throw Fail.Precondition(refusal);
        var written = await pools.UpdateAsync(name, storage, network, request.Failover, cpu);
        written.OrFail(
            missing: written.Cause == ComputePoolRepository.MissingReference ? MissingReference(storage, network) : $"compute pool '{name}' not found",
            unchanged: $"compute pool '{name}' already has these settings",
            inUse: written.Cause.Length == 0
                ? $"the storage of compute pool '{name}' cannot change while it has cells"
                : $"guests of compute pool '{name}' still hold addresses of '{written.Cause}'");
        return new ModifyComputePoolResponse();
    }

    public override async Task<ListUnallocatedCellsResponse> ListUnallocatedCells(ListUnallocatedCellsRequest request, ServerCallContext context) =>
        new() { Data = { (await cells.ListAsync(pool: null, unallocated: true)).Select(ToCell) } };

    public override async Task<ListPoolCellsResponse> ListPoolCells(ListPoolCellsRequest request, ServerCallContext context)
    {
        var pool = await FindAsync(request.Pool);
        return new ListPoolCellsResponse { Data = { (await cells.ListAsync(pool.Name)).Select(ToCell) } };
    }

    public override async Task<AddPoolCellResponse> AddPoolCell(AddPoolCellRequest request, ServerCallContext context)
    {
        await membership.AttachAsync(InputRules.Name("compute pool", request.Pool), InputRules.Name("cell", request.Cell), context.CancellationToken);
        return new AddPoolCellResponse();
    }

    public override async Task<RemovePoolCellResponse> RemovePoolCell(RemovePoolCellRequest request, ServerCallContext context)
    {
        await membership.DetachAsync(InputRules.Name("compute pool", request.Pool), InputRules.Name("cell", request.Cell), context.CancellationToken);
        return new RemovePoolCellResponse();
    }

    public override async Task<ListUnknownDomainsResponse> ListUnknownDomains(ListUnknownDomainsRequest request, ServerCallContext context) =>
        new()
        {
            Data =
            {
                (await unknownDomains.ListAsync()).Select(d => new UnknownDomain
                {
                    Cell = d.Cell, Guest = d.Guest.ToString(), Name = d.Name, State = d.State, Generation = d.Generation,
                    Reported = DateTime.SpecifyKind(d.ReportedAt, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
                }),
            },
        };

    public override async Task<RemoveUnknownDomainResponse> RemoveUnknownDomain(RemoveUnknownDomainRequest request, ServerCallContext context)
    {
        await unknownDomains.RemoveAsync(request.Cell, request.Guest, Hosting.SessionInterceptor.SessionOf(context).User, context.CancellationToken);
        return new RemoveUnknownDomainResponse();
    }

    public override async Task<ModifyPoolCellResponse> ModifyPoolCell(ModifyPoolCellRequest request, ServerCallContext context)
    {
        var cell = await FindCellAsync(request.Pool, request.Cell);
        if (!await cells.SetEnabledAsync(cell.Name, request.Enable))
            throw Fail.Precondition($"cell '{cell.Name}' is already {(request.Enable ? "enabled" : "disabled")}");
        return new ModifyPoolCellResponse();
    }

    public override async Task<GetPoolCellResponse> GetPoolCell(GetPoolCellRequest request, ServerCallContext context)
    {
        var cell = await FindCellAsync(request.Pool, request.Cell);
        var detail = new CellDetail { Name = cell.Name, Address = cell.Address, Enabled = cell.Enabled, Alive = cell.Alive, Cpus = { cell.Cpus } };
        if (cell.Alive && cell.Enabled)
        {
            detail.Storage.AddRange((await cells.ListAttachmentsAsync(cell.Name))
                .Select(a => new CellStorageAttachment { Name = a.StoragePool, Attached = a.Attached, Error = a.Error }));
        }
        return new GetPoolCellResponse { Data = detail };
    }

    private async Task<ComputePoolRow> FindAsync(string name)
    {
        InputRules.Name("compute pool", name);
        return await pools.FindAsync(name) ?? throw Fail.NotFound($"compute pool '{name}' not found");
    }

    private async Task<CellRow> FindCellAsync(string pool, string name)
    {
        await FindAsync(pool);
        InputRules.Name("cell", name);
        var cell = await cells.FindAsync(name) ?? throw Fail.NotFound($"cell '{name}' not found");
        return cell.Pool == pool ? cell : throw Fail.NotFound($"cell '{name}' is not in compute pool '{pool}'");
    }

    /// <summary>Validates (storage, network, failover): named pools must exist; failover needs shared storage.</summary>
    private async Task<(string? Storage, string? Network)> SettingsAsync(string storage, string network, bool failover)
    {
        var storageName = InputRules.OptionalName("storage pool", storage);
        var networkName = InputRules.OptionalName("address pool", network);
        if (failover && storageName is null)
            throw Fail.Invalid("failover needs a storage pool");
        if (storageName is not null && await storagePools.FindAsync(storageName) is null)
            throw Fail.NotFound($"storage pool '{storageName}' not found");
        if (networkName is not null && await addressPools.FindAsync(networkName) is null)
            throw Fail.NotFound($"address pool '{networkName}' not found");
        return (storageName, networkName);
    }

    private static ComputePool ToMessage(ComputePoolRow p) => new()
    {
        Name = p.Name,
        Enabled = p.Enabled,
        Cells = p.Cells,
        Storage = p.Storage ?? "",
        Network = p.Network ?? "",
        Failover = p.Failover,
        Cpu = p.Cpu,
    };

    private static Cell ToCell(CellRow c) => new() { Name = c.Name, Address = c.Address, Enabled = c.Enabled, Alive = c.Alive };

    private static string MissingReference(string? storage, string? network) => $"storage pool '{storage}' or address pool '{network}' not found";
}
