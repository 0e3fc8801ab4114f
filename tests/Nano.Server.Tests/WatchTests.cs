using System.Text.Json.Nodes;
using Grpc.Core;
using Nano.Contracts.Cell.V1;
using Nano.Contracts.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>ZoneService watchers: a snapshot, then updates as cells report, at most one per cell per interval.</summary>
public sealed class WatchTests(ZoneServer fixture) : IClassFixture<ZoneServer>
{
    [Fact]
    public async Task WatchCellStatus_SendsASnapshotThenUpdates_RateLimited()
    {
        Assert.Equal(0, (await fixture.Rest.PostAsync("/api/v1/compute_pools/p_watch", new { }, fixture.AdminSession)).ErrorCode);
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_watch"));
        Assert.Equal(0, (await fixture.Rest.PostAsync("/api/v1/compute_pool_cells/p_watch/c_watch", null, fixture.AdminSession)).ErrorCode);

        var client = new ZoneService.ZoneServiceClient(fixture.Server.Channel);
        using var cancel = new CancellationTokenSource(TestServer.Deadline);
        using var call = client.WatchCellStatus(new WatchCellStatusRequest { Pool = "p_watch", IntervalMs = 1000 }, TestServer.Call(fixture.AdminSession));
        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        var snapshot = call.ResponseStream.Current.Data;
        Assert.Equal("c_watch", snapshot.Name);
        Assert.True(snapshot.Alive);

        var started = DateTime.UtcNow;
        for (var i = 1; i <= 10; i++)
            await agent.MetricsAsync(new MetricsSample { CpuUsage = i, AvailableMemory = 100 * i, MaxMemory = 1000 });
        var updates = new List<Contracts.V1.CellStatus>();
        while (updates.LastOrDefault()?.AvailableMemory != 1000)
        {
            Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
            updates.Add(call.ResponseStream.Current.Data);
        }
        Assert.InRange(updates.Count, 1, 2);
        Assert.Equal(10, updates[^1].CpuUsage);
        Assert.All(updates, u => Assert.Equal("c_watch", u.Name));
        Assert.True(updates.Count == 1 || DateTime.UtcNow - started >= TimeSpan.FromSeconds(0.9), "two updates within one interval");
    }

    [Fact]
    public async Task WatchZoneStatus_OverRest_IsNewlineDelimitedJson()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/watch/compute_zone_status?interval_ms=200");
        request.Headers.Add("Nano-Session", fixture.AdminSession);
        using var response = await fixture.Rest.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(body);
        using var cancel = new CancellationTokenSource(TestServer.Deadline);
        var first = JsonNode.Parse((await reader.ReadLineAsync(cancel.Token))!)!;
        Assert.Equal(0, first["error_code"]!.GetValue<int>());
        Assert.Equal("default", first["data"]!["name"]!.GetValue<string>());

        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_watch_rest"));
        Assert.Equal(0, (await fixture.Rest.PostAsync("/api/v1/compute_pool_cells/default/c_watch_rest", null, fixture.AdminSession)).ErrorCode);
        await agent.MetricsAsync(new MetricsSample { CpuUsage = 5, AvailableMemory = 777, MaxMemory = 1000 });
        JsonNode next;
        do
        {
            next = JsonNode.Parse((await reader.ReadLineAsync(cancel.Token))!)!;
        } while (next["data"]!["available_memory"]!.GetValue<long>() < 777);
        Assert.True(next["data"]!["cells"]![1]!.GetValue<int>() >= 1);
    }

    [Fact]
    public async Task Watching_NeedsASession_AndAKnownPool()
    {
        var client = new ZoneService.ZoneServiceClient(fixture.Server.Channel);
        using var anonymous = client.WatchZoneStatus(new WatchZoneStatusRequest(), TestServer.Call());
        var e = await Assert.ThrowsAsync<RpcException>(() => anonymous.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        using var unknown = client.WatchCellStatus(new WatchCellStatusRequest { Pool = "no_such_pool" }, TestServer.Call(fixture.AdminSession));
        e = await Assert.ThrowsAsync<RpcException>(() => unknown.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }
}
