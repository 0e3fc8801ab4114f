using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;
using Nano.Server.Replicas;

namespace Nano.Server.Services;

/// <summary>Users and passwords; a password or its hash never leaves the server.</summary>
public sealed class UserService(UserRepository users, UserGroupRepository groups, SessionRepository sessions, ReadCache reads)
    : Contracts.V1.UserService.UserServiceBase
{
    public override async Task<ListUsersResponse> ListUsers(ListUsersRequest request, ServerCallContext context) =>
        new() { Data = { await reads.GetAsync(ReadCache.Users, users.ListNamesAsync) } };

    public override async Task<GetUserResponse> GetUser(GetUserRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("user", request.UserName);
        var user = await users.FindAsync(name) ?? throw Fail.NotFound($"user '{name}' not found");
        return new GetUserResponse { Data = new User { Name = user.Name, Nick = user.Nick, Mail = user.Mail } };
    }

    public override async Task<CreateUserResponse> CreateUser(CreateUserRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("user", request.UserName);
        var password = IdentityRules.Password(request.Password);
        await users.CreateAsync(name, IdentityRules.Text("nick", request.Nick), IdentityRules.Text("mail", request.Mail),
            PasswordHasher.Hash(password)).OrFail(exists: $"user '{name}' already exists");
        return new CreateUserResponse();
    }

    public override async Task<ModifyUserResponse> ModifyUser(ModifyUserRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("user", request.UserName);
        await users.UpdateProfileAsync(name, IdentityRules.Text("nick", request.Nick), IdentityRules.Text("mail", request.Mail))
            .OrFail(missing: $"user '{name}' not found");
        return new ModifyUserResponse();
    }

    public override async Task<DeleteUserResponse> DeleteUser(DeleteUserRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("user", request.UserName);
        await users.DeleteAsync(name).OrFail(missing: $"user '{name}' not found");
        return new DeleteUserResponse();
    }

    /// <summary>
    /// Anyone may change their own password; another user's needs the user menu. The old one is always checked. Every other
    /// session of the user ends: whoever learnt the old password and logged in with it is out.
    /// </summary>
    public override async Task<ChangeUserPasswordResponse> ChangeUserPassword(ChangeUserPasswordRequest request, ServerCallContext context)
    {
        var name = IdentityRules.Name("user", request.UserName);
        var session = SessionInterceptor.SessionOf(context);
        if (name != session.User)
            AccessRules.Demand(session, AccessRules.UserMenu);
        var old = IdentityRules.Text("old password", request.Old, IdentityRules.MaxPasswordLength);
        var password = IdentityRules.Password(request.New);
        var user = await users.FindAsync(name);
        if (!PasswordHasher.Verify(old, user?.PasswordHash))
            throw Fail.Invalid("invalid user or old password");
        await users.SetPasswordAsync(name, PasswordHasher.Hash(password));
        await sessions.DeleteOthersOfAsync(name, keep: session.Id);
        return new ChangeUserPasswordResponse();
    }

    /// <summary>Users of a group; users in no group when the group is empty (upstream B9).</summary>
    public override async Task<SearchUsersResponse> SearchUsers(SearchUsersRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Group))
            return new SearchUsersResponse { Data = { await users.ListByGroupAsync(null) } };
        var group = IdentityRules.Name("user group", request.Group);
        if (!await groups.ExistsAsync(group))
            throw Fail.NotFound($"user group '{group}' not found");
        return new SearchUsersResponse { Data = { await users.ListByGroupAsync(group) } };
    }
}
