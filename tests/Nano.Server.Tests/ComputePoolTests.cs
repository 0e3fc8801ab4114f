using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Compute pools #1-#5.</summary>
public sealed class ComputePoolTests(InitializedServer fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task DefaultPool_ExistsAfterFirstStart()
    {
        JsonAssert.Success("""{"name":"default","enabled":true,"cells":0,"storage":"","network":"","failover":false,"cpu":""}""",
            await Rest.GetAsync("/api/v1/compute_pools/default", Admin));
    }

    [Fact]
    public async Task Pool_CreateGetListModifyDelete()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/storage_pools/cp_nfs", new { type = "nfs", host = "10.1.1.1", target = "/nano" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/address_pools/cp_net", new { gateway = "172.16.0.1", provider = "dhcp" }, Admin)).ErrorCode);

        JsonAssert.Success("\"\"", await Rest.SendAsync(HttpMethod.Post, "/api/v1/compute_pools/cp1", null, Admin));
        JsonAssert.Success("""{"name":"cp1","enabled":true,"cells":0,"storage":"","network":"","failover":false,"cpu":""}""", await Rest.GetAsync("/api/v1/compute_pools/cp1", Admin));

        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/compute_pools/cp1", new { storage = "cp_nfs", network = "cp_net", failover = true }, Admin));
        JsonAssert.Success("""{"name":"cp1","enabled":true,"cells":0,"storage":"cp_nfs","network":"cp_net","failover":true,"cpu":""}""", await Rest.GetAsync("/api/v1/compute_pools/cp1/", Admin));
        JsonAssert.Failure(412, await Rest.PutAsync("/api/v1/compute_pools/cp1", new { storage = "cp_nfs", network = "cp_net", failover = true }, Admin));

        // Full replacement: what is omitted becomes local storage, no network, no failover.
        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/compute_pools/cp1", new { }, Admin));
        JsonAssert.Success("""{"name":"cp1","enabled":true,"cells":0,"storage":"","network":"","failover":false,"cpu":""}""", await Rest.GetAsync("/api/v1/compute_pools/cp1", Admin));

        var names = (await Rest.GetAsync("/api/v1/compute_pools/", Admin)).Data!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToList();
        Assert.Contains("cp1", names);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);

        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/compute_pools/cp1", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/compute_pools/cp1", Admin));
    }

    [Fact]
    public async Task Pool_WithBadSettings_IsRefused()
    {
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/compute_pools/cp_bad", new { storage = "no_such_storage" }, Admin));
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/compute_pools/cp_bad", new { network = "no_such_network" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/compute_pools/cp_bad", new { failover = true }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/compute_pools/cp.bad", new { }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/compute_pools/cp_bad", Admin));
        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/compute_pools/default", new { }, Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync("/api/v1/compute_pools/cp_never", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/compute_pool_cells/cp_never", Admin));
    }
}
