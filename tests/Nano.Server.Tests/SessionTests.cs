using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Log in (#124), keep alive (#125), inspect (#126), list (B10), log out.</summary>
public sealed class SessionTests(InitializedServer fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task Login_AnswersLoginResult()
    {
        var login = await Rest.PostAsync("/api/v1/sessions/", new { user = "admin", password = InitializedServer.AdminPassword, nonce = "abc" });
        Assert.Equal(0, login.ErrorCode);
        var data = login.Data!.AsObject();
        Assert.Equal(["session", "timeout", "group", "menu", "address"], data.Select(p => p.Key));
        Assert.True(Guid.TryParse(data["session"]!.GetValue<string>(), out _));
        Assert.Equal(180, data["timeout"]!.GetValue<int>());
        Assert.Equal("admin", data["group"]!.GetValue<string>());
        Assert.Equal(InitializedServer.AllMenus.Order(), data["menu"]!.AsArray().Select(m => m!.GetValue<string>()).Order());
        Assert.Equal("127.0.0.1", data["address"]!.GetValue<string>());
    }

    [Fact]
    public async Task Login_WithUnknownUserOrWrongPassword_FailsAlikeAndIsLogged()
    {
        var wrong = await Rest.PostAsync("/api/v1/sessions/", new { user = "admin", password = "Wrong1Password", nonce = "" });
        var unknown = await Rest.PostAsync("/api/v1/sessions/", new { user = "nobody_here", password = "Wrong1Password", nonce = "" });
        JsonAssert.Failure(401, wrong);
        JsonAssert.Failure(401, unknown);
        Assert.Equal(wrong.Message, unknown.Message);

        var logs = await Rest.GetAsync("/api/v1/logs/?limit=100", Fixture.AdminSession);
        var contents = logs.Data!["logs"]!.AsArray().Select(l => l!["content"]!.GetValue<string>()).ToList();
        Assert.Contains("login failed for user 'nobody_here' from 127.0.0.1", contents);
        Assert.Contains("login failed for user 'admin' from 127.0.0.1", contents);
        Assert.DoesNotContain(contents, c => c.Contains("Wrong1Password"));
    }

    [Fact]
    public async Task Login_ForUserWithoutGroup_IsRefused()
    {
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/users/lonely", new { password = "L0nelyPass" }, Fixture.AdminSession));
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/sessions/", new { user = "lonely", password = "L0nelyPass", nonce = "" }));
    }

    /// <summary>Security, abuse of the front door (issue 13, item 11): a client does not choose the address it is logged under.</summary>
    [Fact]
    public async Task Login_IgnoresForwardingHeadersFromAClientThatIsNoTrustedProxy()
    {
        Assert.Equal("127.0.0.1", await LoginAddressAsync(Rest));
    }

    [Fact]
    public async Task Login_TakesTheClientAddressFromForwardingHeaders_OfATrustedProxy()
    {
        await using var server = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:TrustedProxies"] = "192.0.2.1, 127.0.0.1" });
        await server.FirstRunAsync("user");
        Assert.Equal("192.0.2.7", await LoginAddressAsync(server.Rest));
    }

    private static async Task<string> LoginAddressAsync(RestClient rest) =>
        (await rest.SendAsync(HttpMethod.Post, "/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "" }, null,
            new Dictionary<string, string> { ["X-Forwarded-For"] = "10.1.1.1, not-an-ip, 192.0.2.7" })).Data!["address"]!.GetValue<string>();

    [Fact]
    public async Task GetSession_AnswersSessionInfo()
    {
        var session = await Fixture.UserWithMenusAsync("info", "dashboard");
        JsonAssert.Success("""{"user":"info_user","group":"info_group","address":"127.0.0.1","menu":["dashboard"],"resource":[],"timeout":180}""",
            await Rest.GetAsync($"/api/v1/sessions/{session}", session));
    }

    [Fact]
    public async Task KeepAlive_AndLogout()
    {
        var session = await Fixture.LoginAsync("admin", InitializedServer.AdminPassword);
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/sessions/{session}", null, session));
        Assert.Contains(session, (await Rest.GetAsync("/api/v1/sessions/", Fixture.AdminSession)).Data!.AsArray().Select(s => s!.GetValue<string>()));

        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/sessions/{session}", null, session));
        JsonAssert.Failure(401, await Rest.GetAsync("/api/v1/users/", session));
        JsonAssert.Failure(401, await Rest.PutAsync($"/api/v1/sessions/{session}", null, session));
        Assert.DoesNotContain(session, (await Rest.GetAsync("/api/v1/sessions/", Fixture.AdminSession)).Data!.AsArray().Select(s => s!.GetValue<string>()));
    }

    [Fact]
    public async Task OthersSessions_AreHiddenFromOrdinaryUsers()
    {
        var session = await Fixture.UserWithMenusAsync("peeker", "dashboard");
        JsonAssert.Success($"[\"{session}\"]", await Rest.GetAsync("/api/v1/sessions/", session));
        JsonAssert.Failure(403, await Rest.GetAsync($"/api/v1/sessions/{Fixture.AdminSession}", session));
        JsonAssert.Failure(403, await Rest.DeleteAsync($"/api/v1/sessions/{Fixture.AdminSession}", null, session));
    }

    [Fact]
    public async Task DeletingAUser_EndsItsSessions()
    {
        var session = await Fixture.UserWithMenusAsync("doomed", "dashboard");
        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/user_groups/doomed_group/members/doomed_user", null, Fixture.AdminSession));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/users/doomed_user", null, Fixture.AdminSession));
        JsonAssert.Failure(401, await Rest.GetAsync("/api/v1/users/", session));
    }
}
