using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Storage pools (#12-#16) and the storage folders of cells (#22-#23).</summary>
public sealed class StoragePoolService(StoragePoolRepository storagePools, CellRepository cells, PoolMembership membership)
    : Contracts.V1.StoragePoolService.StoragePoolServiceBase
{
    public override async Task<ListStoragePoolsResponse> ListStoragePools(ListStoragePoolsRequest request, ServerCallContext context) =>
        new() { Data = { (await storagePools.ListAsync()).Select(p => ToMessage(p, withName: true)) } };

    public override async Task<GetStoragePoolResponse> GetStoragePool(GetStoragePoolRequest request, ServerCallContext context)
    {
        var name = InputRules.Name("storage pool", request.Pool);
        var pool = await storagePools.FindAsync(name) ?? throw Fail.NotFound($"storage pool '{name}' not found");
        return new GetStoragePoolResponse { Data = ToMessage(pool, withName: false) };
    }

    public override async Task<CreateStoragePoolResponse> CreateStoragePool(CreateStoragePoolRequest request, ServerCallContext context)
    {
        var pool = Validate(request.Pool, request.Type, request.Host, request.Target);
        await storagePools.CreateAsync(pool).OrFail(exists: $"storage pool '{pool.Name}' already exists");
        return new CreateStoragePoolResponse();
    }

    public override async Task<ModifyStoragePoolResponse> ModifyStoragePool(ModifyStoragePoolRequest request, ServerCallContext context)
    {
        var pool = Validate(request.Pool, request.Type, request.Host, request.Target);
        var written = await storagePools.UpdateAsync(pool);
        written.OrFail(missing: $"storage pool '{pool.Name}' not found", unchanged: $"storage pool '{pool.Name}' already has these settings",
            inUse: $"storage pool '{pool.Name}' is used by compute pool '{written.Cause}'");
        return new ModifyStoragePoolResponse();
    }

    public override async Task<DeleteStoragePoolResponse> DeleteStoragePool(DeleteStoragePoolRequest request, ServerCallContext context)
    {
        var name = InputRules.Name("storage pool", request.Pool);
        await storagePools.DeleteAsync(name).OrFail(missing: $"storage pool '{name}' not found", inUse: $"storage pool '{name}' is used by a compute pool");
        return new DeleteStoragePoolResponse();
    }

    public override async Task<GetCellStoragesResponse> GetCellStorages(GetCellStoragesRequest request, ServerCallContext context)
    {
        var cell = await FindCellAsync(request.Pool, request.Cell);
        return new GetCellStoragesResponse
        {
            Data = new Contracts.V1.CellStorages { Mode = cell.StorageMode, System = { cell.SystemPaths }, Data = { cell.DataPaths } },
        };
    }

    /// <summary>Local mode only: the cell checks the old folder holds no volumes and the new one is empty.</summary>
    public override async Task<ModifyCellStoragesResponse> ModifyCellStorages(ModifyCellStoragesRequest request, ServerCallContext context)
    {
        await membership.ChangeLocalStorageAsync(await FindCellAsync(request.Pool, request.Cell), request.Default, context.CancellationToken);
        return new ModifyCellStoragesResponse();
    }

    private async Task<CellRow> FindCellAsync(string pool, string name)
    {
        InputRules.Name("compute pool", pool);
        InputRules.Name("cell", name);
        var cell = await cells.FindAsync(name) ?? throw Fail.NotFound($"cell '{name}' not found");
        return cell.Pool == pool ? cell : throw Fail.NotFound($"cell '{name}' is not in compute pool '{pool}'");
    }

    private static StoragePoolRow Validate(string name, string type, string host, string target)
    {
        InputRules.Name("storage pool", name);
        return type switch
        {
            "nfs" => new StoragePoolRow(name, type, InputRules.Host("host", host), InputRules.AbsolutePath("target", target)),
            "shared" when !string.IsNullOrEmpty(host) => throw Fail.Invalid("a shared folder has no host: leave host empty"),
            "shared" => new StoragePoolRow(name, type, "", InputRules.AbsolutePath("target", target)),
            _ => throw Fail.Invalid($"unsupported storage type '{type}': \"nfs\" or \"shared\""),
        };
    }

    private static StoragePool ToMessage(StoragePoolRow p, bool withName) => new()
    {
        Name = withName ? p.Name : "",
        Type = p.Type,
        Host = p.Host,
        Target = p.Target,
    };
}
