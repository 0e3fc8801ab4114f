using Microsoft.Extensions.DependencyInjection;
using Nano.Server.Data;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Tests;

/// <summary>Address pools and ranges #26-#34, and address allocation.</summary>
public sealed class AddressPoolTests(InitializedServer fixture) : ApiTest(fixture)
{
    private AddressAllocations Repository => Fixture.Server.Services.GetRequiredService<AddressAllocations>();

    [Fact]
    public async Task Pool_AndRanges_Lifecycle()
    {
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/address_pools/net1", new { gateway = "192.168.1.1", provider = "dhcp", dns = new[] { "8.8.8.8", "1.1.1.1" }, name = "ignored" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/address_pools/net1/internal/ranges/192.168.1.10", new { end = "192.168.1.19", netmask = "255.255.255.0" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/address_pools/ranges/192.168.1.100?pool=net1", new { end = "192.168.1.104", netmask = "255.255.255.0" }, Admin));

        JsonAssert.Success("""
            {"name":"net1","gateway":"192.168.1.1","dns":["8.8.8.8","1.1.1.1"],"provider":"dhcp","mode":"internal",
             "ranges":[{"start":"192.168.1.10","end":"192.168.1.19","netmask":"255.255.255.0","capacity":10},
                       {"start":"192.168.1.100","end":"192.168.1.104","netmask":"255.255.255.0","capacity":5}],
             "allocated":[]}
            """, await Rest.GetAsync("/api/v1/address_pools/net1", Admin));
        var summary = (await Rest.GetAsync("/api/v1/address_pools/", Admin)).Data!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "net1");
        Assert.Equal("""{"name":"net1","gateway":"192.168.1.1","dns":["8.8.8.8","1.1.1.1"],"provider":"dhcp","mode":"internal","addresses":15,"allocated":0}""", summary!.ToJsonString());

        JsonAssert.Success("""
            [{"start":"192.168.1.10","end":"192.168.1.19","netmask":"255.255.255.0","type":"internal"},
             {"start":"192.168.1.100","end":"192.168.1.104","netmask":"255.255.255.0","type":"internal"}]
            """, await Rest.GetAsync("/api/v1/address_pools/net1/internal/ranges/", Admin));

        var allocation = await Repository.AllocateAsync("net1", "11111111-1111-1111-1111-111111111111");
        Assert.NotNull(allocation);
        var address = Ipv4.Format(allocation!.Address);
        Assert.Equal(Ipv4.Parse("start", "192.168.1.10"), allocation.RangeStart); // ranges are used in insertion order
        JsonAssert.Success($$"""
            {"start":"192.168.1.10","end":"192.168.1.19","netmask":"255.255.255.0","capacity":10,
             "allocated":[{"address":"{{address}}","instance":"11111111-1111-1111-1111-111111111111"}]}
            """, await Rest.GetAsync("/api/v1/address_pools/ranges/192.168.1.10", Admin));
        JsonAssert.Failure(412, await Rest.DeleteAsync("/api/v1/address_pools/net1/internal/ranges/192.168.1.10", null, Admin));
        JsonAssert.Failure(412, await Rest.DeleteAsync("/api/v1/address_pools/net1", null, Admin));
        Assert.Equal(1, await Repository.ReleaseAsync("11111111-1111-1111-1111-111111111111"));

        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/address_pools/ranges/192.168.1.100", null, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/address_pools/net1", new { gateway = "192.168.1.254", provider = "cloudinit", mode = "both" }, Admin));
        var modified = await Rest.GetAsync("/api/v1/address_pools/net1/", Admin);
        Assert.Equal("""{"gateway":"192.168.1.254","dns":[],"provider":"cloudinit","mode":"both"}""",
            $$"""{"gateway":{{modified.Data!["gateway"]!.ToJsonString()}},"dns":{{modified.Data!["dns"]!.ToJsonString()}},"provider":{{modified.Data!["provider"]!.ToJsonString()}},"mode":{{modified.Data!["mode"]!.ToJsonString()}}}""");
        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/address_pools/net1", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/address_pools/net1", Admin));
    }

    [Theory]
    [InlineData("/api/v1/address_pools/net2/internal/ranges/10.2.0.50", """{"end":"10.2.0.60","netmask":"255.255.255.0"}""", 412)]
    [InlineData("/api/v1/address_pools/net2/internal/ranges/10.2.0.0", """{"end":"10.2.0.10","netmask":"255.255.255.0"}""", 412)]
    [InlineData("/api/v1/address_pools/net2/internal/ranges/10.2.0.200", """{"end":"10.2.1.5","netmask":"255.255.255.0"}""", 400)]
    [InlineData("/api/v1/address_pools/net2/internal/ranges/10.2.0.200", """{"end":"10.2.0.100","netmask":"255.255.255.0"}""", 400)]
    [InlineData("/api/v1/address_pools/net2/internal/ranges/10.2.0.200", """{"end":"10.2.0.210","netmask":"255.0.255.0"}""", 400)]
    [InlineData("/api/v1/address_pools/net2/external/ranges/10.2.0.200", """{"end":"10.2.0.210","netmask":"255.255.255.0"}""", 400)]
    [InlineData("/api/v1/address_pools/net2/internal/ranges/10.2.0.300", """{"end":"10.2.0.210","netmask":"255.255.255.0"}""", 400)]
    [InlineData("/api/v1/address_pools/nowhere/internal/ranges/10.2.0.200", """{"end":"10.2.0.210","netmask":"255.255.255.0"}""", 404)]
    public async Task Range_WithBadBounds_IsRefused(string path, string body, int code)
    {
        await EnsurePoolAsync("net2", "10.2.0.1", "10.2.0.10", "10.2.0.60");
        JsonAssert.Failure(code, await Rest.PostAsync(path, body, Admin));
        Assert.Single((await Rest.GetAsync("/api/v1/address_pools/net2/internal/ranges", Admin)).Data!.AsArray());
    }

    [Theory]
    [InlineData("""{"gateway":"300.1.1.1","provider":"dhcp"}""")]
    [InlineData("""{"gateway":"10.0.0.1","provider":"static"}""")]
    [InlineData("""{"gateway":"10.0.0.1","provider":"dhcp","dns":["not-an-ip"]}""")]
    [InlineData("""{"gateway":"10.0.0.1","provider":"dhcp","mode":"sideways"}""")]
    public async Task Pool_WithBadSettings_IsRefused(string body)
    {
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/address_pools/badnet", body, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/address_pools/badnet", Admin));
    }

    [Fact]
    public async Task Pool_BoundToAComputePool_CannotGo()
    {
        await EnsurePoolAsync("net3", "10.3.0.1", "10.3.0.10", "10.3.0.20");
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/uses_net3", new { network = "net3" }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.DeleteAsync("/api/v1/address_pools/net3", null, Admin));
    }

    [Fact]
    public async Task DocumentedRangePath_NeedsAPoolWhenAmbiguous()
    {
        await EnsurePoolAsync("net4", "10.4.0.1", "10.5.0.10", "10.5.0.20");
        await EnsurePoolAsync("net5", "10.4.0.2", "10.5.0.10", "10.5.0.20");
        JsonAssert.Failure(400, await Rest.GetAsync("/api/v1/address_pools/ranges/10.5.0.10", Admin));
        Assert.Equal(0, (await Rest.GetAsync("/api/v1/address_pools/ranges/10.5.0.10?pool=net5", Admin)).ErrorCode);
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/address_pools/ranges/10.99.0.1", Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/address_pools/ranges/10.6.0.1", new { end = "10.6.0.5", netmask = "255.255.255.0" }, Admin));
    }

    [Fact]
    public async Task ConcurrentAllocations_NeverHandOutAnAddressTwice()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/address_pools/race", new { gateway = "10.7.0.1", provider = "dhcp" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/address_pools/race/internal/ranges/10.7.0.100", new { end = "10.7.0.119", netmask = "255.255.255.0" }, Admin)).ErrorCode);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => Repository.AllocateAsync("race", $"guest-{i}"))));

        var granted = results.Where(r => r is not null).Select(r => r!.Address).ToList();
        Assert.Equal(20, granted.Count);
        Assert.Equal(20, granted.Distinct().Count());
        Assert.Equal(30, results.Count(r => r is null));
        Assert.All(granted, a => Assert.InRange(a, Ipv4.Parse("a", "10.7.0.100"), Ipv4.Parse("a", "10.7.0.119")));
        var summary = (await Rest.GetAsync("/api/v1/address_pools/", Admin)).Data!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "race");
        Assert.Equal(20, summary!["allocated"]!.GetValue<int>());
    }

    private async Task EnsurePoolAsync(string name, string gateway, string start, string end)
    {
        if ((await Rest.GetAsync($"/api/v1/address_pools/{name}", Admin)).ErrorCode == 0)
            return;
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/address_pools/{name}", new { gateway, provider = "dhcp" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/address_pools/{name}/internal/ranges/{start}", new { end, netmask = "255.255.255.0" }, Admin)).ErrorCode);
    }
}
