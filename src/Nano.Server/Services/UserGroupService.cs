using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>User groups, their roles and members.</summary>
public sealed class UserGroupService(UserGroupRepository groups) : Contracts.V1.UserGroupService.UserGroupServiceBase
{
    public override async Task<ListUserGroupsResponse> ListUserGroups(ListUserGroupsRequest request, ServerCallContext context) => new()
    {
        Data = { (await groups.ListAsync()).Select(g => new UserGroupSummary { Name = g.Name, Display = g.Display, Member = g.Member }) },
    };

    public override async Task<GetUserGroupResponse> GetUserGroup(GetUserGroupRequest request, ServerCallContext context)
    {
        var group = await FindAsync(request.GroupName);
        return new GetUserGroupResponse
        {
            Data = new UserGroup { Name = group.Name, Display = group.Display, Role = { group.Roles }, Member = { group.Members } },
        };
    }

    public override async Task<CreateUserGroupResponse> CreateUserGroup(CreateUserGroupRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("user group", request.GroupName);
        if (name == IdentityRules.ReservedGroupName)
            throw Fail.Invalid($"user group name '{name}' is reserved");
        var written = await groups.CreateAsync(name, IdentityRules.Text("display", request.Display), RoleNames(request.Role));
        written.OrFail(exists: $"user group '{name}' already exists", missing: $"role '{written.Cause}' not found");
        return new CreateUserGroupResponse();
    }

    public override async Task<ModifyUserGroupResponse> ModifyUserGroup(ModifyUserGroupRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("user group", request.GroupName);
        var written = await groups.UpdateAsync(name, IdentityRules.Text("display", request.Display), RoleNames(request.Role));
        written.OrFail(missing: written.Cause.Length > 0 ? $"role '{written.Cause}' not found" : $"user group '{name}' not found");
        return new ModifyUserGroupResponse();
    }

    public override async Task<DeleteUserGroupResponse> DeleteUserGroup(DeleteUserGroupRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("user group", request.GroupName);
        await groups.DeleteAsync(name).OrFail(missing: $"user group '{name}' not found", inUse: $"user group '{name}' still has members");
        return new DeleteUserGroupResponse();
    }

    /// <summary>Members of ?group=, or of the caller's own group when none is given (A6).</summary>
    public override async Task<ListUserGroupMembersResponse> ListUserGroupMembers(ListUserGroupMembersRequest request, ServerCallContext context)
    {
        var name = string.IsNullOrEmpty(request.Group) ? SessionInterceptor.SessionOf(context).Group : request.Group;
        var group = await FindAsync(name);
        return new ListUserGroupMembersResponse { Data = { group.Members } };
    }

    public override async Task<AddUserGroupMemberResponse> AddUserGroupMember(AddUserGroupMemberRequest request, ServerCallContext context)
    {
        var (group, user) = (IdentityRules.Name("user group", request.GroupName), IdentityRules.Name("user", request.UserName));
        var written = await groups.AddMemberAsync(group, user);
        written.OrFail(missing: written.Cause == "user" ? $"user '{user}' not found" : $"user group '{group}' not found",
            inUse: $"user '{user}' already belongs to a group");
        return new AddUserGroupMemberResponse();
    }

    public override async Task<RemoveUserGroupMemberResponse> RemoveUserGroupMember(RemoveUserGroupMemberRequest request, ServerCallContext context)
    {
        var (group, user) = (IdentityRules.Name("user group", request.GroupName), IdentityRules.Name("user", request.UserName));
        var written = await groups.RemoveMemberAsync(group, user);
        written.OrFail(missing: written.Cause == "group" ? $"user group '{group}' not found" : $"user '{user}' is not a member of '{group}'");
        return new RemoveUserGroupMemberResponse();
    }

    private async Task<UserGroupRow> FindAsync(string name)
    {
        IdentityRules.Name("user group", name);
        return await groups.FindAsync(name) ?? throw Fail.NotFound($"user group '{name}' not found");
    }

    private static string[] RoleNames(IEnumerable<string> roles) =>
        roles.Select(r => IdentityRules.Name("role", r)).Distinct(StringComparer.Ordinal).ToArray();
}
