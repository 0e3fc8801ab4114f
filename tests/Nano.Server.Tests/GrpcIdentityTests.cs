using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>The identity area through a real GrpcChannel: same rules, real gRPC statuses.</summary>
public sealed class GrpcIdentityTests(InitializedServer fixture) : IClassFixture<InitializedServer>
{
    private CallOptions Admin => TestServer.Call(fixture.AdminSession);

    [Fact]
    public async Task LoginAndUserLifecycle_OverGrpc()
    {
        var sessions = new SessionService.SessionServiceClient(fixture.Server.Channel);
        var login = await sessions.CreateSessionAsync(
            new CreateSessionRequest { User = InitializedServer.AdminName, Password = InitializedServer.AdminPassword, Nonce = "g" }, TestServer.Call());
        Assert.Equal(0, login.ErrorCode);
        Assert.Equal("admin", login.Data.Group);
        Assert.Equal(180, login.Data.Timeout);
        var session = TestServer.Call(login.Data.Session);

        var users = new UserService.UserServiceClient(fixture.Server.Channel);
        await users.CreateUserAsync(new CreateUserRequest { UserName = "grpc_user", Password = "Grpc1Password", Nick = "G" }, session);
        var user = await users.GetUserAsync(new GetUserRequest { UserName = "grpc_user" }, session);
        Assert.Equal(new User { Name = "grpc_user", Nick = "G", Mail = "" }, user.Data);
        Assert.Contains("grpc_user", (await users.ListUsersAsync(new ListUsersRequest(), session)).Data);

        var exists = await Assert.ThrowsAsync<RpcException>(async () =>
            await users.CreateUserAsync(new CreateUserRequest { UserName = "grpc_user", Password = "Grpc1Password" }, session));
        Assert.Equal(StatusCode.AlreadyExists, exists.StatusCode);

        await users.DeleteUserAsync(new DeleteUserRequest { UserName = "grpc_user" }, session);
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await users.GetUserAsync(new GetUserRequest { UserName = "grpc_user" }, session));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Failures_CarryTheirGrpcStatus()
    {
        var sessions = new SessionService.SessionServiceClient(fixture.Server.Channel);
        var bad = await Assert.ThrowsAsync<RpcException>(async () =>
            await sessions.CreateSessionAsync(new CreateSessionRequest { User = "admin", Password = "Wrong1Password" }, TestServer.Call()));
        Assert.Equal(StatusCode.Unauthenticated, bad.StatusCode);

        var roles = new RoleService.RoleServiceClient(fixture.Server.Channel);
        var invalid = await Assert.ThrowsAsync<RpcException>(async () =>
            await roles.CreateRoleAsync(new CreateRoleRequest { RoleName = "bad name" }, Admin));
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        var inUse = await Assert.ThrowsAsync<RpcException>(async () =>
            await roles.DeleteRoleAsync(new DeleteRoleRequest { RoleName = "super" }, Admin));
        Assert.Equal(StatusCode.FailedPrecondition, inUse.StatusCode);

        var migrations = new MigrationService.MigrationServiceClient(fixture.Server.Channel);
        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await migrations.GetMigrationAsync(new GetMigrationRequest { Id = Guid.NewGuid().ToString() }, Admin));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task GroupsAndLogs_OverGrpc()
    {
        var groups = new UserGroupService.UserGroupServiceClient(fixture.Server.Channel);
        await groups.CreateUserGroupAsync(new CreateUserGroupRequest { GroupName = "grpc_group", Display = "Over gRPC", Role = { "super" } }, Admin);
        var group = await groups.GetUserGroupAsync(new GetUserGroupRequest { GroupName = "grpc_group" }, Admin);
        Assert.Equal(new UserGroup { Name = "grpc_group", Display = "Over gRPC", Role = { "super" } }, group.Data);

        var logs = new LogService.LogServiceClient(fixture.Server.Channel);
        await logs.AddLogAsync(new AddLogRequest { Content = "written over gRPC" }, Admin);
        var page = await logs.QueryLogsAsync(new QueryLogsRequest { Limit = 100 }, Admin);
        Assert.Contains(page.Data.Logs, l => l.Content == "written over gRPC");
    }
}
