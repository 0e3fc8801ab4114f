using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Everything lives in PostgreSQL: a restarted server (or a second replica) sees the same state.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task State_AndSessions_SurviveARestart()
    {
        string database, session;
        // A restart keeps its data folder (the key its secrets are sealed with is there).
        var data = new Dictionary<string, string?> { ["Nano:DataDir"] = Path.Combine(Path.GetTempPath(), $"nano-test-data-{Guid.NewGuid():N}") };
        await using (var first = await TestServer.StartAsync(settings: data))
        {
            database = first.Database;
            Assert.Equal(0, (await first.Rest.PostAsync("/api/v1/system/", new { user = "admin", password = "Adm1nPassword", menu = new[] { "user", "log" } })).ErrorCode);
            session = (await first.Rest.PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "" })).Data!["session"]!.GetValue<string>();
            Assert.Equal(0, (await first.Rest.PostAsync("/api/v1/users/kept", new { password = "K3ptPassword", nick = "Kept" }, session)).ErrorCode);
            Assert.Equal(0, (await first.Rest.PostAsync("/api/v1/logs/", new { content = "before restart" }, session)).ErrorCode);
        }

        await using var second = await TestServer.StartAsync(database, data);
        JsonAssert.Success("""{"name":"kept","nick":"Kept","mail":""}""", await second.Rest.GetAsync("/api/v1/users/kept", session));
        var logs = await second.Rest.GetAsync("/api/v1/logs/", session);
        Assert.Contains(logs.Data!["logs"]!.AsArray(), l => l!["content"]!.GetValue<string>() == "before restart");
        JsonAssert.Failure(412, await second.Rest.PostAsync("/api/v1/system/", new { user = "again", password = "Adm1nPassword", menu = new[] { "user" } }));
        // The stored hash still verifies: the password is right, only the group is missing.
        JsonAssert.Failure(412, await second.Rest.PostAsync("/api/v1/sessions/", new { user = "kept", password = "K3ptPassword", nonce = "" }));
    }
}
