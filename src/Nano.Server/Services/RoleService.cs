using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;

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
        await roles.CreateAsync(IdentityRules.Name("role", request.RoleName), IdentityRules.Menu(request.Menu, required: false));
        return new CreateRoleResponse();
    }

    public override async Task<ModifyRoleResponse> ModifyRole(ModifyRoleRequest request, ServerCallContext context)
    {
        await roles.UpdateAsync(IdentityRules.Name("role", request.RoleName), IdentityRules.Menu(request.Menu, required: false));
        return new ModifyRoleResponse();
    }

    public override async Task<DeleteRoleResponse> DeleteRole(DeleteRoleRequest request, ServerCallContext context)
    {
        await roles.DeleteAsync(IdentityRules.Name("role", request.RoleName));
        return new DeleteRoleResponse();
    }
}
