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
        // The list is summed by the database per pool (one query for all pools): the same figures as the pool's own status.
        Assert.Equal("[0,2] [0,0,0,0] 16 4000 8000 400 800 22 44 66 88",
            string.Join(" ", new[] { "cells", "instances", "max_cpu", "available_memory", "max_memory", "available_disk", "max_disk",
                "read_speed", "write_speed", "receive_speed", "send_speed" }.Select(key => listed[key]!.ToJsonString())));
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_empty_stats", new { }, Admin)).ErrorCode);
        var empty = (await Rest.GetAsync("/api/v1/compute_pool_status/", Admin)).Data!.AsArray().Single(p => p!["name"]!.GetValue<string>() == "p_empty_stats");
        Assert.Equal("[0,0] [0,0,0,0] 0", $"{empty!["cells"]!.ToJsonString()} {empty["instances"]!.ToJsonString()} {empty["max_cpu"]!.ToJsonString()}");

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
        await using (var db = new NpgsqlConnection(fixture.Server.Database))
        {
            var (disabled, enabled) = await db.QuerySingleAsync<(long, long)>("SELECT count(*) FILTER (WHERE NOT enabled), count(*) FILTER (WHERE enabled) FROM compute_pools");
            Assert.Equal($"[{disabled},{enabled}]", zone.Data!["pools"]!.ToJsonString());
            Assert.True(enabled >= 1);
        }
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

    /// <summary>
    /// The guest counts the database keeps per cell (cell_guest_counts, which status reads instead of every guest) equal a
    /// recount after each kind of change to guests, and two streams of moves between the same two cells in opposite
    /// directions at once neither deadlock nor miscount.
    /// </summary>
    [Fact]
    public async Task TheGuestCountsKeptPerCell_EqualARecount_AfterEveryKindOfChange_AndOppositeMovesAtOnce()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_counts", new { }, Admin)).ErrorCode);
        await using (var one = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_count1")))
        await using (var two = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_count2")))
        {
            Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_counts/c_count1", null, Admin)).ErrorCode);
            Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_counts/c_count2", null, Admin)).ErrorCode);
        }
        await using var db = new NpgsqlConnection(fixture.Server.Database);
        var steps = new[]
        {
            """
            INSERT INTO guests (id, name, owner, group_name, pool, cell, created, running, cores, memory, disks)
            SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'admin.count' || i, 'admin', 'admin', 'p_counts',
                   CASE WHEN i % 2 = 0 THEN 'c_count1' ELSE 'c_count2' END, i % 3 <> 0, i % 4 = 0, 1, 1, '{1}'
            FROM generate_series(1, 40) i
            """,
            "UPDATE guests SET created = true WHERE pool = 'p_counts' AND NOT created AND name LIKE '%1'",
            "UPDATE guests SET running = NOT running WHERE pool = 'p_counts' AND name LIKE '%2'",
            "UPDATE guests SET migrating = true WHERE pool = 'p_counts' AND name LIKE '%3'",
            "UPDATE guests SET cell = 'c_count2', migrating = false WHERE pool = 'p_counts' AND migrating",
            "UPDATE guests SET cell = NULL WHERE pool = 'p_counts' AND name LIKE '%4'",
            "UPDATE guests SET cell = 'c_count1', created = false WHERE pool = 'p_counts' AND cell IS NULL",
            "UPDATE guests SET cores = 2, running = running, cpu_usage = 5 WHERE pool = 'p_counts'", // nothing counted changes
            "DELETE FROM guests WHERE pool = 'p_counts' AND name LIKE '%5'",
        };
        foreach (var step in steps)
        {
            await db.ExecuteAsync(step);
            Assert.Equal(await RecountAsync(db), await KeptAsync(db));
        }

        // Opposite moves at once, each its own transaction, as two migrations or failovers would run.
        async Task MoveAsync(string from, string to)
        {
            await using var c = new NpgsqlConnection(fixture.Server.Database);
            for (var i = 0; i < 100; i++)
                await c.ExecuteAsync("UPDATE guests SET cell = @to WHERE id = (SELECT id FROM guests WHERE pool = 'p_counts' AND cell = @from LIMIT 1)", new { from, to });
        }
        await Task.WhenAll(MoveAsync("c_count1", "c_count2"), MoveAsync("c_count2", "c_count1"), MoveAsync("c_count1", "c_count2"));
        Assert.Equal(await RecountAsync(db), await KeptAsync(db));
        Assert.NotEqual("", await KeptAsync(db));

        await db.ExecuteAsync("DELETE FROM guests WHERE pool = 'p_counts'");
        Assert.Equal("c_count1 0/0/0, c_count2 0/0/0", await KeptAsync(db));

        static async Task<string> RecountAsync(NpgsqlConnection db) => string.Join(", ", await db.QueryAsync<string>("""
            SELECT c.name || ' ' || count(g.id) FILTER (WHERE g.created AND NOT g.migrating AND NOT g.running) || '/' ||
                   count(g.id) FILTER (WHERE g.created AND NOT g.migrating AND g.running) || '/' || count(g.id) FILTER (WHERE g.created AND g.migrating)
            FROM cells c LEFT JOIN guests g ON g.cell = c.name WHERE c.name LIKE 'c_count%' GROUP BY c.name ORDER BY c.name
            """));
        static async Task<string> KeptAsync(NpgsqlConnection db) => string.Join(", ", await db.QueryAsync<string>("""
            SELECT c.name || ' ' || coalesce(n.stopped, 0) || '/' || coalesce(n.running, 0) || '/' || coalesce(n.migrating, 0)
            FROM cells c LEFT JOIN cell_guest_counts n ON n.cell = c.name WHERE c.name LIKE 'c_count%' ORDER BY c.name
            """));
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
