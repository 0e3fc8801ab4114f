using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// Issue 14, item 4, the server's side of fencing: every heartbeat is answered, and the answers of a cell of a failover
/// pool tell its agent how long it may go unheard before it powers its guests off: less than the soonest the server
/// fails them over. A cell of another pool is told never to fence.
/// </summary>
public sealed class FencingTests(ZoneServer fixture) : IClassFixture<ZoneServer>
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];

    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;

    [Fact]
    public async Task HeartbeatsAreAcked_AndACellOfAFailoverPoolIsToldToFenceBeforeTheServerFailsItsGuestsOver()
    {
        var cell = $"fc_{_suffix}";
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello(cell));
        await using var heartbeats = agent.KeepAlive();
        // Metrics more often than heartbeats are written, as a real agent sends them: the acks learn from their writes too.
        using var stop = new CancellationTokenSource();
        var metrics = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await agent.MetricsAsync(new Nano.Contracts.Cell.V1.MetricsSample { AvailableMemory = 1L << 30, MaxMemory = 2L << 30 });
                await Task.Delay(300, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        });
        await Wait.ForAsync(() => Task.FromResult(agent.Acks.Count >= 2));
        Assert.All(agent.Acks, a => Assert.Equal(0, a.FenceAfterMs)); // in no pool: never fence

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/storage_pools/fs_{_suffix}", new { type = "shared", target = "/srv/nano-fence" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/fp_{_suffix}", new { storage = $"fs_{_suffix}", failover = true }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/fp_{_suffix}/{cell}", null, Admin)).ErrorCode);
        await Wait.ForAsync(() => Task.FromResult(agent.Acks.Any(a => a.FenceAfterMs > 0)));
        var sequences = agent.Acks.Select(a => a.Sequence).ToList();
        Assert.Equal(sequences.Order(), sequences);

        // ZoneServer: liveness 3 s, grace 2 s, heartbeats every 0.5 s. The soonest failover comes 2/3 of the liveness plus the
        // grace after the last heartbeat (4 s); the agent is told to be done two heartbeats and a second before (2 s).
        var options = new Nano.Server.Hosting.NanoOptions { CellLivenessSeconds = 3, FailoverGraceSeconds = 2, CellHeartbeatIntervalMs = 500 };
        Assert.Equal(2000, Nano.Server.Cells.Events.HeartbeatReceived.FenceAfterMs(options));
        Assert.Equal(2000, agent.Acks.Last().FenceAfterMs);
        await stop.CancelAsync();
        await metrics;
    }
}
