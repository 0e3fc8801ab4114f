using System.Net;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>With Nano:RestErrorsAsHttpStatus, failures use their error_code as the HTTP status; successes stay 200.</summary>
public sealed class RestStatusModeTests : IAsyncLifetime
{
    private TestServer _server = null!;
    private string _session = "";

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:RestErrorsAsHttpStatus"] = "true" });
        Assert.Equal(0, (await _server.Rest.PostAsync("/api/v1/system/", new { user = "admin", password = "Adm1nPassword", menu = new[] { "user", "compute_pool" } })).ErrorCode);
        _session = (await _server.Rest.PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "" })).Data!["session"]!.GetValue<string>();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("GET", "/api/v1/users/", null, false, HttpStatusCode.Unauthorized)]
    [InlineData("GET", "/api/v1/users/nobody", null, true, HttpStatusCode.NotFound)]
    [InlineData("POST", "/api/v1/users/bad.name", """{"password":"Passw0rdOk"}""", true, HttpStatusCode.BadRequest)]
    [InlineData("POST", "/api/v1/users/admin", """{"password":"Passw0rdOk"}""", true, HttpStatusCode.Conflict)]
    [InlineData("DELETE", "/api/v1/roles/super", null, true, HttpStatusCode.PreconditionFailed)]
    [InlineData("DELETE", "/api/v1/logs/", """{"entries":["20260101000000001"]}""", true, HttpStatusCode.Forbidden)]
    [InlineData("GET", "/api/v1/migrations/00000000-0000-0000-0000-000000000001", null, true, HttpStatusCode.NotFound)]
    [InlineData("GET", "/api/v1/nowhere", null, true, HttpStatusCode.NotFound)]
    [InlineData("PATCH", "/api/v1/users/", null, true, HttpStatusCode.MethodNotAllowed)]
    public async Task Failures_UseTheCodeAsStatus(string method, string path, string? body, bool withSession, HttpStatusCode status)
    {
        var answer = await _server.Rest.SendAsync(new HttpMethod(method), path, body, withSession ? _session : null);
        Assert.Equal(status, answer.Status);
        Assert.Equal((int)status, answer.ErrorCode);
        Assert.Equal("", answer.Data!.GetValue<string>());
    }

    [Fact]
    public async Task Successes_StayOk()
    {
        JsonAssert.Success("""["admin"]""", await _server.Rest.GetAsync("/api/v1/users/", _session));
    }
}
