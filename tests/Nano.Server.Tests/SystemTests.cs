using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>First-run: GET/POST /system/ (upstream B1), without a session.</summary>
public sealed class SystemTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task FirstRun_CreatesRoleGroupAndAdmin_ThenIsRefused()
    {
        var rest = _server.Rest;
        Assert.Equal("""{"ready":false,"max_cores":24,"max_memory":32,"max_disk":64}""", Limits(await rest.GetAsync("/api/v1/system/")));

        JsonAssert.Success("\"\"", await rest.PostAsync("/api/v1/system/", new { user = "root", password = "Secr3tPass", menu = new[] { "user", "log" } }));

        Assert.Equal("""{"ready":true,"max_cores":24,"max_memory":32,"max_disk":64}""", Limits(await rest.GetAsync("/api/v1/system", null)));
        var login = await rest.PostAsync("/api/v1/sessions/", new { user = "root", password = "Secr3tPass", nonce = "n" });
        Assert.Equal(0, login.ErrorCode);
        var session = login.Data!["session"]!.GetValue<string>();
        Assert.Equal("admin", login.Data!["group"]!.GetValue<string>());
        JsonAssert.Success("""{"menu":["user","log"]}""", await rest.GetAsync("/api/v1/roles/super", session));
        JsonAssert.Success("""{"name":"admin","display":"Adminitrators of Nano Portal","role":["super"],"member":["root"]}""",
            await rest.GetAsync("/api/v1/user_groups/admin", session));

        JsonAssert.Failure(412, await rest.PostAsync("/api/v1/system/", new { user = "other", password = "Secr3tPass", menu = new[] { "user" } }));
        JsonAssert.Success("""["root"]""", await rest.GetAsync("/api/v1/users/", session));
    }

    [Theory]
    [InlineData("""{"user":"root","password":"short1A","menu":["user"]}""")]
    [InlineData("""{"user":"root","password":"nouppercase1","menu":["user"]}""")]
    [InlineData("""{"user":"root","password":"Secr3tPass","menu":[]}""")]
    [InlineData("""{"user":"ro ot","password":"Secr3tPass","menu":["user"]}""")]
    [InlineData("""{"user":"root","password":"Secr3tPass","menu":["user"],"group":"members"}""")]
    [InlineData("""{"user":"","password":"Secr3tPass","menu":["user"]}""")]
    public async Task FirstRun_WithBadInput_FailsAndChangesNothing(string body)
    {
        JsonAssert.Failure(400, await _server.Rest.PostAsync("/api/v1/system/", body));
        Assert.Equal("""{"ready":false,"max_cores":24,"max_memory":32,"max_disk":64}""", Limits(await _server.Rest.GetAsync("/api/v1/system/")));
    }

    [Fact]
    public async Task FirstRun_HonoursGroupRoleAndDisplay()
    {
        JsonAssert.Success("\"\"", await _server.Rest.PostAsync("/api/v1/system/",
            new { user = "boss", password = "Secr3tPass", menu = new[] { "user" }, group = "ops", role = "all", display = "Operators" }));
        var login = await _server.Rest.PostAsync("/api/v1/sessions/", new { user = "boss", password = "Secr3tPass", nonce = "" });
        var session = login.Data!["session"]!.GetValue<string>();
        JsonAssert.Success("""{"name":"ops","display":"Operators","role":["all"],"member":["boss"]}""",
            await _server.Rest.GetAsync("/api/v1/user_groups/ops", session));
    }

    /// <summary>The documented part of the system status (the version fields beside it: ClientContractTests).</summary>
    private static string Limits(RestAnswer status)
    {
        Assert.Equal(0, status.ErrorCode);
        var data = status.Data!.AsObject();
        data.Remove("version");
        data.Remove("cell_protocols");
        data.Remove("rest_port");
        return data.ToJsonString();
    }
}
