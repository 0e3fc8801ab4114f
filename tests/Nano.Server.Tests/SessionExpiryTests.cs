using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Sessions expire after the configured timeout unless kept alive.</summary>
public sealed class SessionExpiryTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:SessionTimeoutSeconds"] = "3" });
        Assert.Equal(0, (await _server.Rest.PostAsync("/api/v1/system/", new { user = "admin", password = "Adm1nPassword", menu = new[] { "user" } })).ErrorCode);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Session_ExpiresAfterTheTimeout_UnlessKeptAlive()
    {
        var started = DateTime.UtcNow;
        var expiring = await LoginAsync();
        var kept = await LoginAsync();
        Assert.Equal(0, (await _server.Rest.GetAsync("/api/v1/users/", expiring)).ErrorCode);

        // Keep one alive every 500 ms while waiting (with a deadline) for the other to expire.
        RestAnswer answer;
        do
        {
            Assert.Equal(0, (await _server.Rest.PutAsync($"/api/v1/sessions/{kept}", null, kept)).ErrorCode);
            await Task.Delay(500);
            answer = await _server.Rest.GetAsync("/api/v1/users/", expiring);
        } while (answer.ErrorCode == 0 && DateTime.UtcNow - started < TestServer.Deadline);

        JsonAssert.Failure(401, answer);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(2.9), "expired before its timeout");
        Assert.Equal(0, (await _server.Rest.GetAsync("/api/v1/users/", kept)).ErrorCode);
    }

    private async Task<string> LoginAsync()
    {
        var login = await _server.Rest.PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "" });
        Assert.Equal(3, login.Data!["timeout"]!.GetValue<int>());
        return login.Data!["session"]!.GetValue<string>();
    }
}
