using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Sessions are required everywhere but login and first run; changes need the area's menu.</summary>
public sealed class AccessTests(InitializedServer fixture) : IClassFixture<InitializedServer>
{
    /// <summary>One REST route per area (service): its first rule, variables filled in.</summary>
    public static TheoryData<string, string> OneRoutePerArea()
    {
        var data = new TheoryData<string, string>();
        foreach (var service in ApiCatalog.Services)
        {
            var rule = ContractTests.AllRules.FirstOrDefault(r => r.Rpc.Service == service.FullName && !AccessRules.IsAnonymous(r.Rpc));
            if (rule.Rpc is not null)
                data.Add(rule.Method, Fill(rule.Template));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(OneRoutePerArea))]
    public async Task EveryArea_WithoutSession_IsUnauthenticated(string method, string path)
    {
        var answer = await fixture.Rest.SendAsync(new HttpMethod(method), path, method == "GET" ? null : "{}", session: null);
        JsonAssert.Failure(401, answer);
        Assert.Contains("unauthenticated", answer.Message);
    }

    [Theory]
    [MemberData(nameof(OneRoutePerArea))]
    public async Task EveryArea_WithForgedSession_IsUnauthenticated(string method, string path)
    {
        var answer = await fixture.Rest.SendAsync(new HttpMethod(method), path, method == "GET" ? null : "{}", session: Guid.NewGuid().ToString());
        JsonAssert.Failure(401, answer);
        Assert.Contains("invalid session", answer.Message);
    }

    [Fact]
    public async Task EveryArea_OverGrpcWithoutSession_IsUnauthenticated()
    {
        foreach (var service in ApiCatalog.Services)
        {
            var method = service.Methods.FirstOrDefault(m => !AccessRules.IsAnonymous(ApiCatalog.Methods[$"/{service.FullName}/{m.Name}"]));
            if (method is null)
                continue;
            var e = await Assert.ThrowsAsync<RpcException>(() => GrpcProbe.CallAsync(fixture.Server.Channel, method, session: null));
            Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        }
    }

    [Theory]
    [InlineData("POST", "/api/v1/users/intruder", """{"password":"Intrud3rPass"}""")]
    [InlineData("DELETE", "/api/v1/users/admin", null)]
    [InlineData("POST", "/api/v1/roles/intruders", """{"menu":["user"]}""")]
    [InlineData("PUT", "/api/v1/user_groups/admin", """{"role":[]}""")]
    [InlineData("POST", "/api/v1/user_groups/admin/members/limited_user", null)]
    [InlineData("DELETE", "/api/v1/logs/", """{"entries":["20260101000000001"]}""")]
    [InlineData("POST", "/api/v1/compute_pools/mine", "{}")]
    [InlineData("POST", "/api/v1/guests/", "{}")]
    public async Task Changes_WithoutTheMenu_AreDenied(string method, string path, string? body)
    {
        var limited = await LimitedSessionAsync();
        JsonAssert.Failure(403, await fixture.Rest.SendAsync(new HttpMethod(method), path, body, limited));
        JsonAssert.Success("""["admin"]""", await fixture.Rest.GetAsync("/api/v1/user_groups/admin/members", fixture.AdminSession));
        JsonAssert.Failure(404, await fixture.Rest.GetAsync("/api/v1/users/intruder", fixture.AdminSession));
    }

    [Fact]
    public async Task Reads_AndOwnLogLines_NeedOnlyASession()
    {
        var limited = await LimitedSessionAsync();
        Assert.Equal(0, (await fixture.Rest.GetAsync("/api/v1/users/", limited)).ErrorCode);
        Assert.Equal(0, (await fixture.Rest.GetAsync("/api/v1/logs/", limited)).ErrorCode);
        Assert.Equal(0, (await fixture.Rest.PostAsync("/api/v1/logs/", new { content = "limited.user(127.0.0.1) : logout" }, limited)).ErrorCode);
    }

    [Fact]
    public async Task Changes_OverGrpcWithoutTheMenu_ArePermissionDenied()
    {
        var limited = await LimitedSessionAsync();
        var client = new UserService.UserServiceClient(fixture.Server.Channel);
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await client.CreateUserAsync(new CreateUserRequest { UserName = "grpc_intruder", Password = "Intrud3rPass" }, TestServer.Call(limited)));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
    }

    private string? _limited;

    private async Task<string> LimitedSessionAsync() => _limited ??= await fixture.UserWithMenusAsync($"limited{Guid.NewGuid():N}"[..20], "dashboard");

    internal static string Fill(string template) =>
        System.Text.RegularExpressions.Regex.Replace(template, "{[^}]+}", m => m.Value switch
        {
            "{index}" or "{disk}" => "0",
            "{start}" => "10.0.0.1",
            "{type}" => "internal",
            _ => "x1",
        });
}
