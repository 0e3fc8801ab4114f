using Microsoft.Extensions.Options;
using Nano.Server.Hosting;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>The request path multiplexes and auto-prepares unless the configured connection string says otherwise.</summary>
public sealed class DatabaseEndpointTests
{
    [Fact]
    public void ConfiguredString_IsTunedForRequests_AndPlainForMigrations()
    {
        var endpoint = new DatabaseEndpoint(Options.Create(new NanoOptions { Database = "Host=/tmp/pg;Username=nano" }));
        var requests = new NpgsqlConnectionStringBuilder(endpoint.ConnectionString);
        Assert.True(requests.Multiplexing);
        Assert.Equal(64, requests.MaxAutoPrepare);
        Assert.Equal("nano", requests.Username);
        Assert.False(new NpgsqlConnectionStringBuilder(endpoint.Maintenance).Multiplexing);
        Assert.Null(endpoint.Embedded);
    }

    [Fact]
    public void ExplicitSettings_Win()
    {
        var endpoint = new DatabaseEndpoint(Options.Create(new NanoOptions { Database = "Host=/tmp/pg;Multiplexing=false;Max Auto Prepare=5" }));
        var requests = new NpgsqlConnectionStringBuilder(endpoint.ConnectionString);
        Assert.False(requests.Multiplexing);
        Assert.Equal(5, requests.MaxAutoPrepare);
    }

    [Fact]
    public void NoConnectionString_MeansTheEmbeddedCluster()
    {
        var endpoint = new DatabaseEndpoint(Options.Create(new NanoOptions { DataDir = "/tmp/nano-endpoint-test" }));
        Assert.NotNull(endpoint.Embedded);
        Assert.Equal("/tmp/nano-endpoint-test/postgres", new NpgsqlConnectionStringBuilder(endpoint.ConnectionString).Host);
    }
}
