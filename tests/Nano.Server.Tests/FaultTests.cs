using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// A fault of what the server depends on is answered as a fault (503, UNAVAILABLE), never as a bug (500), and input
/// the database cannot store as bad input (400); once the fault ends, the server answers again by itself.
/// </summary>
public sealed class FaultTests
{
    [Fact]
    public async Task ADatabaseThatGoesDown_Answers503AndUnavailable_ThenTheServerAnswersAgainOnceItIsBack()
    {
        await using var proxy = new SocketProxy(await TestDatabase.CreateAsync());
        await using var server = await TestServer.StartAsync(proxy.ConnectionString);
        var admin = await server.FirstRunAsync("compute_pool", "log");
        Assert.Equal(0, (await server.Rest.GetAsync("/api/v1/compute_pools/", admin)).ErrorCode);

        proxy.Cut();
        foreach (var path in new[] { "/api/v1/compute_pools/", "/api/v1/logs/", "/api/v1/compute_pools/", "/api/v1/system/" })
        {
            var answer = await server.Rest.GetAsync(path, admin);
            Assert.Equal((503, "database unavailable"), (answer.ErrorCode, answer.Message));
        }
        var login = await server.Rest.PostAsync("/api/v1/sessions/", new { user = InitializedServer.AdminName, password = InitializedServer.AdminPassword, nonce = "n" });
        Assert.Equal((503, "database unavailable"), (login.ErrorCode, login.Message));
        var grpc = await Assert.ThrowsAsync<RpcException>(() =>
            new ComputePoolService.ComputePoolServiceClient(server.Channel).ListComputePoolsAsync(new ListComputePoolsRequest(), TestServer.Call(admin)).ResponseAsync);
        Assert.Equal((StatusCode.Unavailable, "database unavailable"), (grpc.StatusCode, grpc.Status.Detail));

        proxy.Restore();
        await Wait.ForAsync(async () => (await server.Rest.GetAsync("/api/v1/compute_pools/", admin)).ErrorCode == 0);
    }

    [Fact]
    public async Task TextTheDatabaseCannotStore_Answers400_AndStoresNothing()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.FirstRunAsync("log");
        var before = (await server.Rest.GetAsync("/api/v1/logs/", admin)).Data!.ToJsonString();
        var refused = await server.Rest.PostAsync("/api/v1/logs/", new { content = "a NUL \u0000 inside" }, admin);
        Assert.Equal(400, refused.ErrorCode);
        Assert.Contains("cannot be stored", refused.Message);
        Assert.Equal(before, (await server.Rest.GetAsync("/api/v1/logs/", admin)).Data!.ToJsonString());
    }

    /// <summary>
    /// Issue 14, item 5: a gRPC request that is not the method's message answers INVALID_ARGUMENT naming what is wrong
    /// (it answered UNKNOWN "Exception was thrown by handler." and logged a stack trace each time); a good one still works.
    /// </summary>
    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff }, "not a ListComputePoolsRequest")]
    [InlineData(new byte[] { 0, 0, 0, 0, 9, 0x0a, 0x02 }, "the message's header says 9 bytes; 2 came")]
    [InlineData(new byte[] { 0, 0 }, "a gRPC message has a 5-byte header")]
    public async Task AMalformedGrpcRequest_AnswersInvalidArgument(byte[] frame, string problem)
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.FirstRunAsync("compute_pool");
        var (status, message) = await GrpcProbe.SendFrameAsync(server, "/nano.v1.ComputePoolService/ListComputePools", frame, admin);
        Assert.Equal("3", status);
        Assert.Contains(problem, message);

        var pools = await new ComputePoolService.ComputePoolServiceClient(server.Channel).ListComputePoolsAsync(new ListComputePoolsRequest(), TestServer.Call(admin));
        Assert.Equal(0, pools.ErrorCode);
    }
}
