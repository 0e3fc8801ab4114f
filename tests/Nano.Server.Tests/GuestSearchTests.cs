using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Guest searches and who sees which guests.</summary>
public sealed class GuestSearchTests(ZoneServer fixture) : GuestTestBase(fixture)
{
    [Fact]
    public async Task Searches_ListWhatTheCallerMaySee()
    {
        var web = await CreateGuestAsync("find-web");
        var db = await CreateGuestAsync("find-db");
        await WaitCreatedAsync(web);
        await WaitCreatedAsync(db);
        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{web}", new { }, Admin));

        var all = await Rest.GetAsync($"/api/v1/guest_search/?pool={Pool}", Admin);
        Assert.Equal(["admin.find-db", "admin.find-web"], all.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()).Where(n => n.StartsWith("admin.find")));
        var running = await Rest.GetAsync($"/api/v1/guest_search/?pool={Pool}&status=1", Admin);
        Assert.Equal(["admin.find-web"], running.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()).Where(n => n.StartsWith("admin.find")));
        var stopped = await Rest.GetAsync($"/api/v1/guest_search/?cell=cg_{Suffix}&status=0", Admin);
        Assert.Contains("admin.find-db", stopped.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()));
        Assert.DoesNotContain("admin.find-web", stopped.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()));
        Assert.Equal("", all.Data![0]!["monitor_secret"]!.GetValue<string>());
        JsonAssert.Failure(400, await Rest.GetAsync("/api/v1/guest_search/", Admin));

        var page = await Rest.PostAsync("/search/guests".Insert(0, "/api/v1"), new { keyword = "find-", pool = Pool, limit = 1, offset = 1 }, Admin);
        Assert.Equal(2, page.Data!["total"]!.GetValue<int>());
        Assert.Equal("admin.find-web", page.Data!["result"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(1, page.Data!["limit"]!.GetValue<int>());
        var byAddress = await Rest.PostAsync("/api/v1/search/guests/", new { keyword = "10.20.0." }, Admin);
        Assert.True(byAddress.Data!["total"]!.GetValue<int>() >= 2);
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/search/guests/", new { keyword = "find-", offset = 5 }, Admin));

        var other = await Zone.UserWithMenusAsync($"seek{Suffix}", "instance");
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/search/guests/", new { keyword = "find-" }, other)).Data!["total"]!.GetValue<int>());
        JsonAssert.Success("[]", await Rest.GetAsync($"/api/v1/guest_search/?pool={Pool}", other));

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{web}", new { force = true }, Admin)).ErrorCode);
        foreach (var id in new[] { web, db })
            Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }

    [Fact]
    public async Task OthersGuests_AreInvisible_WithoutGroupVisibility()
    {
        var id = await CreateGuestAsync("private");
        await WaitCreatedAsync(id);
        var other = await Zone.UserWithMenusAsync($"peer{Suffix}", "instance");
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/guests/{id}", other));
        JsonAssert.Failure(404, await Rest.DeleteAsync($"/api/v1/guests/{id}", null, other));
        JsonAssert.Failure(404, await Rest.PostAsync($"/api/v1/instances/{id}", new { }, other));
        Assert.Equal(1, await GuestRowsAsync(id));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }
}
