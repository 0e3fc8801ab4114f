using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Storage pools #12-#16.</summary>
public sealed class StoragePoolTests(InitializedServer fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task StoragePool_CreateGetListModifyDelete()
    {
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/storage_pools/nfs1", new { type = "nfs", host = "192.168.3.1", target = "/var/nfs/nano" }, Admin));
        JsonAssert.Success("""{"name":"","type":"nfs","host":"192.168.3.1","target":"/var/nfs/nano"}""", await Rest.GetAsync("/api/v1/storage_pools/nfs1", Admin));
        var list = await Rest.GetAsync("/api/v1/storage_pools/", Admin);
        Assert.Contains(list.Data!.AsArray(), p => p!.ToJsonString() == """{"name":"nfs1","type":"nfs","host":"192.168.3.1","target":"/var/nfs/nano"}""");

        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/storage_pools/nfs1", new { type = "nfs", host = "nas.example.org", target = "/export" }, Admin));
        JsonAssert.Success("""{"name":"","type":"nfs","host":"nas.example.org","target":"/export"}""", await Rest.GetAsync("/api/v1/storage_pools/nfs1/", Admin));
        JsonAssert.Failure(412, await Rest.PutAsync("/api/v1/storage_pools/nfs1", new { type = "nfs", host = "nas.example.org", target = "/export" }, Admin));

        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/storage_pools/nfs1", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/storage_pools/nfs1", Admin));
    }

    [Theory]
    [InlineData("another_nfs.nano.com")] // the API document's own example of #15
    [InlineData("_nfs._tcp.example.org")]
    [InlineData("nas-1.example.org.")]
    [InlineData("nas")]
    public async Task HostNames_FollowRealDns_UnderscoresIncluded(string host)
    {
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/storage_pools/nfspool1", new { type = "nfs", host = "192.168.3.1", target = "/var/nfs/nano" }, Admin));
        try
        {
            JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/storage_pools/nfspool1", new { type = "nfs", host, target = "/var/nfs/nano2" }, Admin));
            Assert.Equal(host, (await Rest.GetAsync("/api/v1/storage_pools/nfspool1", Admin)).Data!["host"]!.GetValue<string>());
        }
        finally
        {
            await Rest.DeleteAsync("/api/v1/storage_pools/nfspool1", null, Admin);
        }
    }

    [Fact]
    public async Task SharedFolder_IsAStoragePool_WithoutHost()
    {
        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/storage_pools/folder1", new { type = "shared", target = "/srv/nano-shared" }, Admin));
        JsonAssert.Success("""{"name":"","type":"shared","host":"","target":"/srv/nano-shared"}""", await Rest.GetAsync("/api/v1/storage_pools/folder1", Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/storage_pools/folder1", null, Admin));
    }

    [Theory]
    [InlineData("""{"type":"ceph","host":"10.0.0.1","target":"/x"}""")]
    [InlineData("""{"type":"nfs","host":"bad host!","target":"/x"}""")]
    [InlineData("""{"type":"nfs","host":"-o/etc","target":"/x"}""")] // would read as an option of mount
    [InlineData("""{"type":"nfs","host":"nas-.example.org","target":"/x"}""")]
    [InlineData("""{"type":"nfs","host":"nas..example.org","target":"/x"}""")]
    [InlineData("""{"type":"nfs","host":"nas:/x","target":"/x"}""")]
    [InlineData("""{"type":"nfs","host":"nas;reboot","target":"/x"}""")]
    [InlineData("""{"type":"nfs","host":"10.0.0.1","target":"relative"}""")]
    [InlineData("""{"type":"nfs","host":"10.0.0.1","target":"/a/../etc"}""")]
    [InlineData("""{"type":"nfs","host":"","target":"/x"}""")]
    [InlineData("""{"type":"shared","host":"10.0.0.1","target":"/x"}""")]
    [InlineData("""{"type":"shared","host":"","target":"x/y"}""")]
    public async Task StoragePool_WithBadSettings_IsRefused(string body)
    {
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/storage_pools/badpool", body, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/storage_pools/badpool", Admin));
    }

    [Fact]
    public async Task StoragePool_InUse_CannotChangeOrGo()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/storage_pools/shared", new { type = "nfs", host = "10.9.9.9", target = "/nano" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/uses_shared", new { storage = "shared", failover = true }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PutAsync("/api/v1/storage_pools/shared", new { type = "nfs", host = "10.9.9.8", target = "/nano" }, Admin));
        JsonAssert.Failure(412, await Rest.DeleteAsync("/api/v1/storage_pools/shared", null, Admin));
        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/storage_pools/shared", new { type = "nfs", host = "10.9.9.9", target = "/nano" }, Admin));
    }
}
