using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Security policy groups #87-#95 and B8.</summary>
public sealed class SecurityPolicyTests(InitializedServer fixture) : ApiTest(fixture)
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Groups_AreCreatedReadReplacedAndDeleted()
    {
        var created = await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"web_{_suffix}", description = "web servers", enabled = true, default_action = "reject" }, Admin);
        Assert.Equal(0, created.ErrorCode);
        var id = created.Data!["id"]!.GetValue<string>();
        JsonAssert.Success($$"""{"id":"{{id}}","name":"web_{{_suffix}}","description":"web servers","user":"admin","group":"admin","enabled":true,"global":false,"default_action":"reject"}""",
            await Rest.GetAsync($"/api/v1/security_policy_groups/{id}", Admin));

        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"web_{_suffix}", default_action = "accept" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"x_{_suffix}", default_action = "drop" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = "bad name" }, Admin));

        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/security_policy_groups/{id}", new { name = $"web2_{_suffix}", enabled = false, global = true, default_action = "accept" }, Admin));
        var replaced = (await Rest.GetAsync($"/api/v1/security_policy_groups/{id}", Admin)).Data!;
        Assert.Equal($"web2_{_suffix}|false|true|accept|", $"{replaced["name"]}|{replaced["enabled"]!.ToJsonString()}|{replaced["global"]!.ToJsonString()}|{replaced["default_action"]}|{replaced["description"]}");

        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/security_policy_groups/{id}", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/security_policy_groups/{id}", Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync($"/api/v1/security_policy_groups/{id}", null, Admin));
    }

    [Fact]
    public async Task Rules_AreAnOrderedListWithIdentity()
    {
        var id = (await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"rules_{_suffix}", default_action = "reject" }, Admin)).Data!["id"]!.GetValue<string>();
        var rules = $"/api/v1/security_policy_groups/{id}/rules/";
        JsonAssert.Success("[]", await Rest.GetAsync(rules, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync(rules, new { action = "accept", protocol = "tcp", to_port = 22 }, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync(rules, new { action = "accept", protocol = "tcp", from_address = "10.0.0.1", to_port = 443 }, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync(rules, new { protocol = "icmp" }, Admin));
        Assert.Equal("tcp:22,tcp:443,icmp:0", Summary(await Rest.GetAsync(rules, Admin)));

        JsonAssert.Failure(409, await Rest.PostAsync(rules, new { action = "reject", protocol = "tcp", to_port = 22 }, Admin)); // same traffic
        JsonAssert.Failure(400, await Rest.PostAsync(rules, new { protocol = "sctp" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync(rules, new { protocol = "icmp", to_port = 22 }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync(rules, new { protocol = "tcp", to_port = 70000 }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync(rules, new { protocol = "tcp", from_address = "10.0.0", to_port = 80 }, Admin));

        JsonAssert.Success("\"\"", await Rest.PutAsync($"{rules}2/order", new { direction = "up" }, Admin));
        Assert.Equal("tcp:22,icmp:0,tcp:443", Summary(await Rest.GetAsync(rules, Admin)));
        JsonAssert.Failure(412, await Rest.PutAsync($"{rules}0/order", new { direction = "up" }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"{rules}2/order", new { direction = "down" }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync($"{rules}1/order", new { direction = "left" }, Admin));

        JsonAssert.Success("\"\"", await Rest.PutAsync($"{rules}0", new { action = "reject", protocol = "udp", to_port = 53 }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"{rules}0", new { action = "reject", protocol = "udp", to_port = 53 }, Admin)); // identical
        JsonAssert.Failure(409, await Rest.PutAsync($"{rules}0", new { protocol = "icmp" }, Admin)); // duplicate of rule 1
        JsonAssert.Failure(404, await Rest.PutAsync($"{rules}7", new { protocol = "udp", to_port = 54 }, Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"{rules}1", null, Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync($"{rules}2", null, Admin));
        var left = await Rest.GetAsync(rules, Admin);
        Assert.Equal("udp:53,tcp:443", Summary(left));
        Assert.Equal("""{"action":"reject","protocol":"udp","from_address":"","to_address":"","to_port":53,"interface":0}""", left.Data![0]!.ToJsonString());
        Assert.Equal("10.0.0.1", left.Data![1]!["from_address"]!.GetValue<string>());
    }

    [Fact]
    public async Task Search_FiltersByOwnerGroupEnabledAndGlobal_InCreationOrder()
    {
        var owner = $"so_{_suffix}";
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/users/{owner}", new { password = "Us3rPassword" }, Admin)).ErrorCode);
        foreach (var (name, enabled, global) in new[] { ("b", true, false), ("a", false, true), ("c", true, true) })
            Assert.Equal(0, (await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"{name}_{_suffix}", user = owner, enabled, global }, Admin)).ErrorCode);

        Assert.Equal($"b_{_suffix},a_{_suffix},c_{_suffix}", Names(await Rest.GetAsync($"/api/v1/search/security_policy_groups/?owner={owner}", Admin)));
        Assert.Equal($"b_{_suffix},c_{_suffix}", Names(await Rest.GetAsync($"/api/v1/search/security_policy_groups/?owner={owner}&enabled_only=true", Admin)));
        Assert.Equal($"c_{_suffix}", Names(await Rest.GetAsync($"/api/v1/search/security_policy_groups/?owner={owner}&enabled_only=true&global_only=true", Admin)));
        Assert.Equal("", Names(await Rest.GetAsync($"/api/v1/search/security_policy_groups/?owner={owner}&group=nobody", Admin)));
    }

    [Fact]
    public async Task Changes_NeedThePoliciesMenu()
    {
        var viewer = await Fixture.UserWithMenusAsync($"pv_{_suffix}", "instance");
        JsonAssert.Failure(403, await Rest.PostAsync("/api/v1/security_policy_groups/", new { name = $"deny_{_suffix}" }, viewer));
        Assert.Equal(0, (await Rest.GetAsync("/api/v1/search/security_policy_groups/", viewer)).ErrorCode);
    }

    private static string Summary(RestAnswer answer) =>
        string.Join(',', answer.Data!.AsArray().Select(r => $"{r!["protocol"]}:{r["to_port"]?.GetValue<int>() ?? 0}"));

    private static string Names(RestAnswer answer) =>
        string.Join(',', answer.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()));
}
