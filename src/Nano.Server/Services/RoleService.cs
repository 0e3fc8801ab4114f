using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Roles and their menus.</summary>
public sealed class RoleService(RoleRepository roles) : Contracts.V1.RoleService.RoleServiceBase
{
    public override async Task<ListRolesResponse> ListRoles(ListRolesRequest request, ServerCallContext context) =>
        new() { Data = { await roles.ListNamesAsync() } };

    public override async Task<GetRoleResponse> GetRole(GetRoleRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("role", request.RoleName);
        var menu = await roles.GetMenuAsync(name) ?? throw Fail.NotFound($"role '{name}' not found");
        return new GetRoleResponse { Data = new Role { Menu = { menu } } };
    }

    public override async Task<CreateRoleResponse> CreateRole(CreateRoleRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("role", request.RoleName);
        await roles.CreateAsync(name, IdentityRules.Menu(request.Menu, required: false)).OrFail(exists: $"role '{name}' already exists");
        return new CreateRoleResponse();
    }

    public override async Task<ModifyRoleResponse> ModifyRole(ModifyRoleRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("role", request.RoleName);
        await roles.UpdateAsync(name, IdentityRules.Menu(request.Menu, required: false)).OrFail(missing: $"role '{name}' not found");
        return new ModifyRoleResponse();
    }

    public override async Task<DeleteRoleResponse> DeleteRole(DeleteRoleRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("role", request.RoleName);
        await roles.DeleteAsync(name).OrFail(missing: $"role '{name}' not found", inUse: $"role '{name}' is attached to a user group");
        return new DeleteRoleResponse();
    }
}
