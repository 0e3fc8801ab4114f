using Dapper;
using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>Zone, pool and cell statistics #17-#21 and guest lists #24-#25, fed by an agent's metrics.</summary>
public sealed class StatusTests(ZoneServer fixture) : IClassFixture<ZoneServer>
{
    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;

    [Fact]
    public async Task Metrics_ReachEveryStatusRoute()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_stats", new { }, Admin)).ErrorCode);
        await using var one = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_stats1", cores: 4));
        await using var two = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_stats2", cores: 12));
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_stats/c_stats1", null, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_stats/c_stats2", null, Admin)).ErrorCode);
        await one.MetricsAsync(Sample(cpu: 50, memory: 1000, disk: 100));
        await two.MetricsAsync(Sample(cpu: 10.5, memory: 3000, disk: 300));
        await Wait.ForAsync(async () => (await Rest.GetAsync("/api/v1/compute_pool_status/p_stats", Admin)).Data!["available_memory"]!.GetValue<long>() == 4000);

        // CPU is weighted by cores: (50*4 + 10.5*12) / 16 = 20.375, rounded to 20.38.
        JsonAssert.Success("""
            {"name":"p_stats","enabled":true,"cells":[0,2],"instances":[0,0,0,0],"cpu_usage":20.38,"max_cpu":16,
             "available_memory":4000,"max_memory":8000,"available_disk":400,"max_disk":800,
             "read_speed":22,"write_speed":44,"receive_speed":66,"send_speed":88}
            """, await Rest.GetAsync("/api/v1/compute_pool_status/p_stats", Admin));
        var listed = (await Rest.GetAsync("/api/v1/compute_pool_status/", Admin)).Data!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "p_stats");
        Assert.Equal(20, listed!["cpu_usage"]!.GetValue<double>());

        JsonAssert.Success("""
            {"name":"c_stats1","address":"127.0.0.1","enabled":true,"alive":true,"instances":[0,0,0,0],"cpu_usage":50,"max_cpu":4,
             "available_memory":1000,"max_memory":2000,"available_disk":100,"max_disk":200,
             "read_speed":11,"write_speed":22,"receive_speed":33,"send_speed":44}
            """, await Rest.GetAsync("/api/v1/compute_cell_status/c_stats1", Admin));
        JsonAssert.Success("""
            {"name":"c_stats2","address":"127.0.0.1","enabled":true,"alive":true,"instances":[0,0,0,0],"cpu_usage":10.5,"max_cpu":12,
             "available_memory":3000,"max_memory":6000,"available_disk":300,"max_disk":600,
             "read_speed":11,"write_speed":22,"receive_speed":33,"send_speed":44}
            """, await Rest.GetAsync("/api/v1/compute_cell_status/p_stats/c_stats2", Admin));
        var cells = await Rest.GetAsync("/api/v1/compute_cell_status/p_stats/", Admin);
        Assert.Equal(["c_stats1", "c_stats2"], cells.Data!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Equal(10, cells.Data![1]!["cpu_usage"]!.GetValue<double>());
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/compute_cell_status/nothing_named_so", Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/compute_cell_status/default/c_stats1", Admin));

        var zone = await Rest.GetAsync("/api/v1/compute_zone_status/", Admin);
        Assert.Equal("default", zone.Data!["name"]!.GetValue<string>());
        Assert.True(zone.Data!["cells"]![1]!.GetValue<int>() >= 2);
        Assert.True(zone.Data!["available_memory"]!.GetValue<long>() >= 4000);
        Assert.Matches("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", zone.Data!["start_time"]!.GetValue<string>());
    }

    [Fact]
    public async Task GuestRows_AreListedAndCounted()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_guests", new { }, Admin)).ErrorCode);
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_guests"));
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_guests/c_guests", null, Admin)).ErrorCode);
        JsonAssert.Success("[]", await Rest.GetAsync("/api/v1/instance_status/p_guests/", Admin));

        await using (var db = new NpgsqlConnection(fixture.Server.Database))
        {
            await db.ExecuteAsync("""
                INSERT INTO guests (id, name, owner, group_name, pool, cell, created, running, cores, memory, disks, create_time)
                VALUES ('00000000-0000-0000-0000-00000000000b', 'admin.web', 'admin', 'admin', 'p_guests', 'c_guests', true, true, 2, 1073741824, '{10737418240,2147483648}', '2026-01-02 03:04:05+00'),
                       ('00000000-0000-0000-0000-00000000000a', 'admin.db', 'admin', 'admin', 'p_guests', 'c_guests', true, false, 1, 536870912, '{5368709120}', NULL),
                       ('00000000-0000-0000-0000-00000000000c', 'admin.new', 'admin', 'admin', 'p_guests', 'c_guests', false, false, 1, 536870912, '{5368709120}', NULL)
                """);
        }
        var guests = await Rest.GetAsync("/api/v1/instance_status/c_guests", Admin);
        Assert.Equal(["admin.db", "admin.new", "admin.web"], guests.Data!.AsArray().Select(g => g!["name"]!.GetValue<string>()));
        var web = guests.Data![2]!;
        Assert.Equal("00000000-0000-0000-0000-00000000000b", web["id"]!.GetValue<string>());
        Assert.Equal("[10737418240,2147483648]", web["disks"]!.ToJsonString());
        Assert.Equal(12884901888, web["total_disk"]!.GetValue<long>());
        Assert.Equal("127.0.0.1", web["host"]!.GetValue<string>());
        Assert.True(web["running"]!.GetValue<bool>());
        Assert.False(web["lost"]!.GetValue<bool>());
        Assert.Equal(3, (await Rest.GetAsync("/api/v1/instance_status/p_guests/c_guests", Admin)).Data!.AsArray().Count);
        JsonAssert.Failure(412, await Rest.DeleteAsync("/api/v1/compute_pool_cells/p_guests/c_guests", null, Admin));

        // Created guests count once: [stopped, running, lost, migrating]; the one being created does not count.
        Assert.Equal("[1,1,0,0]", (await Rest.GetAsync("/api/v1/compute_cell_status/c_guests", Admin)).Data!["instances"]!.ToJsonString());
        Assert.Equal("[1,1,0,0]", (await Rest.GetAsync("/api/v1/compute_pool_status/p_guests", Admin)).Data!["instances"]!.ToJsonString());
        await agent.DisposeAsync();
        await Wait.ForAsync(async () =>
            (await Rest.GetAsync("/api/v1/compute_cell_status/c_guests", Admin)).Data!["instances"]!.ToJsonString() == "[0,0,2,0]");
        Assert.True((await Rest.GetAsync("/api/v1/instance_status/p_guests", Admin)).Data![2]!["lost"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ARejoiningCellsReport_AndItsEvents_SetTheGuestsRunningState()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_recon", new { }, Admin)).ErrorCode);
        var first = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_recon"));
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_recon/c_recon", null, Admin)).ErrorCode);
        await first.DisposeAsync();
        await using (var db = new NpgsqlConnection(fixture.Server.Database))
        {
            await db.ExecuteAsync("""
                INSERT INTO guests (id, name, owner, group_name, pool, cell, created, running, cores, memory, disks)
                VALUES ('00000000-0000-0000-0000-0000000000a1', 'admin.a', 'admin', 'admin', 'p_recon', 'c_recon', true, false, 1, 536870912, '{1}'),
                       ('00000000-0000-0000-0000-0000000000b2', 'admin.b', 'admin', 'admin', 'p_recon', 'c_recon', true, true, 1, 536870912, '{1}')
                """);
        }

        var hello = TestAgent.Hello("c_recon");
        hello.Domains.Add(new DomainReport { GuestId = "00000000-0000-0000-0000-0000000000a1", Uuid = "00000000-0000-0000-0000-0000000000a1", Name = "a", State = DomainState.Running });
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, hello);
        Assert.Equal("a:True b:False", await RunningAsync());
        // Domains without a record are not this test's business (ZoneIdentityTests): nothing is removed here.
        Assert.DoesNotContain(agent.Commands, c => c.DeleteInstance is not null || c.StopInstance is not null);

        await agent.SendAsync(new ConnectRequest { DomainEvent = new DomainEvent { GuestId = "00000000-0000-0000-0000-0000000000a1", Kind = DomainEventKind.Stopped } });
        await agent.SendAsync(new ConnectRequest { DomainEvent = new DomainEvent { GuestId = "00000000-0000-0000-0000-0000000000b2", Kind = DomainEventKind.Started } });
        await Wait.ForAsync(async () => await RunningAsync() == "a:False b:True");
        Assert.Equal(2, (await Rest.GetAsync("/api/v1/instance_status/p_recon", Admin)).Data!.AsArray().Count);
    }

    private async Task<string> RunningAsync() => string.Join(' ', (await Rest.GetAsync("/api/v1/instance_status/p_recon", Admin)).Data!.AsArray()
        .Select(g => $"{g!["name"]!.GetValue<string>()[6..]}:{g["running"]!.GetValue<bool>()}"));

    private static MetricsSample Sample(double cpu, long memory, long disk) => new()
    {
        CpuUsage = cpu, AvailableMemory = memory, MaxMemory = memory * 2, AvailableDisk = disk, MaxDisk = disk * 2,
        ReadSpeed = 11, WriteSpeed = 22, ReceiveSpeed = 33, SendSpeed = 44,
    };
}
