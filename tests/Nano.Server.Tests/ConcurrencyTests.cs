using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Uniqueness lives in the schema: concurrent creations of one name leave exactly one.</summary>
public sealed class ConcurrencyTests(InitializedServer fixture) : IClassFixture<InitializedServer>
{
    [Fact]
    public async Task ConcurrentCreationOfOneUser_ExactlyOneSucceeds()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            fixture.Rest.PostAsync("/api/v1/users/racer", new { password = "Rac3rPassword", nick = $"racer {i}" }, fixture.AdminSession)));
        Assert.Single(answers, a => a.ErrorCode == 0);
        Assert.All(answers.Where(a => a.ErrorCode != 0), a => JsonAssert.Failure(409, a));
        Assert.Single((await fixture.Rest.GetAsync("/api/v1/users/", fixture.AdminSession)).Data!.AsArray(), n => n!.GetValue<string>() == "racer");
    }

    [Fact]
    public async Task ConcurrentJoinsOfOneUser_ExactlyOneGroupWins()
    {
        Assert.Equal(0, (await fixture.Rest.PostAsync("/api/v1/users/joiner", new { password = "J0inerPassword" }, fixture.AdminSession)).ErrorCode);
        for (var i = 0; i < 6; i++)
            Assert.Equal(0, (await fixture.Rest.PostAsync($"/api/v1/user_groups/club{i}", new { display = "club" }, fixture.AdminSession)).ErrorCode);
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            fixture.Rest.PostAsync($"/api/v1/user_groups/club{i}/members/joiner", null, fixture.AdminSession)));
        Assert.Single(answers, a => a.ErrorCode == 0);
        var memberships = 0;
        for (var i = 0; i < 6; i++)
            memberships += (await fixture.Rest.GetAsync($"/api/v1/user_groups/club{i}/members", fixture.AdminSession)).Data!.AsArray().Count;
        Assert.Equal(1, memberships);
    }

    [Fact]
    public async Task ConcurrentLogLines_GetDistinctIds()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            fixture.Rest.PostAsync("/api/v1/logs/", new { content = $"burst {i}" }, fixture.AdminSession)));
        Assert.All(answers, a => Assert.Equal(0, a.ErrorCode));
        var logs = await fixture.Rest.GetAsync("/api/v1/logs/?limit=100", fixture.AdminSession);
        var ids = logs.Data!["logs"]!.AsArray().Where(l => l!["content"]!.GetValue<string>().StartsWith("burst ")).Select(l => l!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(20, ids.Count);
        Assert.Equal(20, ids.Distinct().Count());
    }
}
