using Dapper;
using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>
/// Issue 14, item 2: a zone never touches what is not its own and never deletes what it does not know. Cells are told the
/// zone's identity (made once per database) and stamp it on their domains; when a cell joins, another zone's domains are
/// ignored, and a domain of this zone without a row is kept, listed for administrators and removed only when one asks.
/// A domain whose creation this zone abandoned is still removed.
/// </summary>
public sealed class ZoneIdentityTests(ZoneServer fixture) : IClassFixture<ZoneServer>
{
    private const long MiB = 1L << 20;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];

    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;

    [Fact]
    public async Task TheWelcome_CarriesTheZoneId_MadeOncePerDatabase()
    {
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello($"zw_{_suffix}"));
        await using var db = new NpgsqlConnection(fixture.Server.Database);
        var zone = await db.ExecuteScalarAsync<Guid>("SELECT id FROM zone_identity");
        Assert.Equal(zone.ToString(), agent.Welcome.Zone);
        // Another database is another zone.
        await using var other = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:CellToken"] = "test-token" });
        await using var there = await TestAgent.ConnectAsync(other.Channel, TestAgent.Hello($"zw_{_suffix}"));
        Assert.True(Guid.TryParse(there.Welcome.Zone, out var otherZone));
        Assert.NotEqual(zone, otherZone);
    }

    [Fact]
    public async Task AJoiningCell_KeepsAndListsDomainsNoRowClaims_IgnoresOtherZones_AndRemovesWhatThisZoneAbandoned()
    {
        var cell = $"zj_{_suffix}";
        var pool = $"pz_{_suffix}";
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/{pool}", new { }, Admin)).ErrorCode);
        Guid abandoned;
        await using (var first = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello(cell, cores: 8)))
        {
            await using var heartbeats = first.KeepAlive();
            Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/{pool}/{cell}", null, Admin)).ErrorCode);
            await first.MetricsAsync(new MetricsSample { AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40 });
            await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/{pool}/{cell}", Admin)).Data!["available_disk"]!.GetValue<long>() == 500L << 30);
            // A creation the cell never answers: the server gives up on it (2 s) and abandons the guest.
            first.Answer = c => c.CreateInstance is not null || c.DeleteInstance is not null ? null : new CommandResult { Id = c.Id, Storage = TestAgent.LocalStorage("/var/lib/nano/images") };
            var created = await Rest.PostAsync("/api/v1/guests/", new { name = "gone", pool, template = "0qodbfbd15imbt3g0004", cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB } }, Admin);
            abandoned = Guid.Parse(created.Data!["id"]!.GetValue<string>());
            await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{abandoned}", Admin)).ErrorCode == 404, TimeSpan.FromSeconds(20));
        }

        await using var db = new NpgsqlConnection(fixture.Server.Database);
        var zone = (await db.ExecuteScalarAsync<Guid>("SELECT id FROM zone_identity")).ToString();
        var (ours, legacy, foreign) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var hello = TestAgent.Hello(cell, cores: 8);
        hello.Domains.Add(new DomainReport { GuestId = ours, Uuid = ours, Name = "restored-away", State = DomainState.Running, Generation = 1, Zone = zone });
        hello.Domains.Add(new DomainReport { GuestId = legacy, Uuid = legacy, Name = "older", State = DomainState.Stopped, Generation = 1 });
        hello.Domains.Add(new DomainReport { GuestId = foreign, Uuid = foreign, Name = "other-zone", State = DomainState.Running, Generation = 1, Zone = Guid.NewGuid().ToString() });
        hello.Domains.Add(new DomainReport { GuestId = abandoned.ToString(), Uuid = abandoned.ToString(), Name = "gone", State = DomainState.Stopped, Generation = 1, Zone = zone });
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, hello);
        await using var beats = agent.KeepAlive();

        // The abandoned guest's domain goes; nothing else is touched.
        await Wait.ForAsync(() => Task.FromResult(agent.Commands.Any(c => c.DeleteInstance?.GuestId == abandoned.ToString())));
        var listed = await Rest.GetAsync("/api/v1/unknown_domains/", Admin);
        Assert.Equal(0, listed.ErrorCode);
        var mine = listed.Data!.AsArray().Where(d => d!["cell"]!.GetValue<string>() == cell).ToList();
        Assert.Equal(new[] { $"{legacy}:older:stopped", $"{ours}:restored-away:running" }.Order(),
            mine.Select(d => $"{d!["guest"]}:{d["name"]}:{d["state"]}").Order());
        Assert.DoesNotContain(agent.Commands, c => c.StopInstance is not null || (c.DeleteInstance is not null && c.DeleteInstance.GuestId != abandoned.ToString()));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM abandoned_guests WHERE id = @abandoned", new { abandoned }));

        // Listing and removing need the compute pool menu.
        var clerk = await fixture.UserWithMenusAsync($"zc{_suffix}", "instance");
        Assert.Equal(403, (await Rest.GetAsync("/api/v1/unknown_domains/", clerk)).ErrorCode);
        Assert.Equal(403, (await Rest.DeleteAsync($"/api/v1/unknown_domains/{cell}/{ours}", null, clerk)).ErrorCode);
        Assert.DoesNotContain(agent.Commands, c => c.StopInstance is not null);

        // An administrator removes one: powered off, deleted with its files, no longer listed.
        Assert.Equal(404, (await Rest.DeleteAsync($"/api/v1/unknown_domains/{cell}/{foreign}", null, Admin)).ErrorCode);
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/unknown_domains/{cell}/{ours}", null, Admin));
        Assert.True(agent.Commands.Single(c => c.StopInstance is not null).StopInstance is { Force: true } stop && stop.GuestId == ours);
        Assert.Contains(agent.Commands, c => c.DeleteInstance?.GuestId == ours);
        Assert.DoesNotContain(agent.Commands, c => c.DeleteInstance?.GuestId == legacy || c.DeleteInstance?.GuestId == foreign);
        var after = (await Rest.GetAsync("/api/v1/unknown_domains/", Admin)).Data!.AsArray().Where(d => d!["cell"]!.GetValue<string>() == cell);
        Assert.Equal([legacy], after.Select(d => d!["guest"]!.GetValue<string>()));
    }

    /// <summary>
    /// Hostile input on the new paths: a cell that reports domains with names PostgreSQL refuses or no one could read, or
    /// a state no agent sends, still has its other unknown domains listed (and the names it sent are not stored); the
    /// remove route refuses a cell or guest that is not one, and changes nothing.
    /// </summary>
    [Fact]
    public async Task HostileReportsAndRemovals_AreRefusedOrNeutralised_AndChangeNothing()
    {
        var cell = $"zh_{_suffix}";
        await using var db = new NpgsqlConnection(fixture.Server.Database);
        var zone = (await db.ExecuteScalarAsync<Guid>("SELECT id FROM zone_identity")).ToString();
        var (nul, huge, odd, plain) = (Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), Guid.NewGuid().ToString());
        var hello = TestAgent.Hello(cell);
        hello.Domains.Add(new DomainReport { GuestId = nul, Uuid = nul, Name = "bad\0name", State = DomainState.Running, Generation = 1, Zone = zone });
        hello.Domains.Add(new DomainReport { GuestId = huge, Uuid = huge, Name = new string('x', 100_000), State = DomainState.Stopped, Generation = 1, Zone = zone });
        hello.Domains.Add(new DomainReport { GuestId = odd, Uuid = odd, Name = "odd\u001b[2J", State = (DomainState)99, Generation = -5, Zone = zone });
        hello.Domains.Add(new DomainReport { GuestId = "../../etc/passwd", Uuid = "x", Name = "path", State = DomainState.Running, Generation = 1, Zone = zone });
        hello.Domains.Add(new DomainReport { GuestId = plain, Uuid = plain, Name = "plain", State = DomainState.Stopped, Generation = 1, Zone = zone });
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, hello);
        await using var beats = agent.KeepAlive();

        IEnumerable<System.Text.Json.Nodes.JsonNode> Mine(RestAnswer listed) => listed.Data!.AsArray().Where(d => d!["cell"]!.GetValue<string>() == cell)!;
        await Wait.ForAsync(async () => Mine(await Rest.GetAsync("/api/v1/unknown_domains/", Admin)).Count() == 4);
        var listed = Mine(await Rest.GetAsync("/api/v1/unknown_domains/", Admin)).ToDictionary(d => d["guest"]!.GetValue<string>());
        Assert.Equal(new[] { nul, huge, odd, plain }.Order(), listed.Keys.Order());
        Assert.Equal("plain", listed[plain]["name"]!.GetValue<string>());
        foreach (var renamed in new[] { nul, huge, odd })
            Assert.Equal(renamed, listed[renamed]["name"]!.GetValue<string>()); // a name no one could read is shown as the guest id
        Assert.Equal("unknown", listed[odd]["state"]!.GetValue<string>());

        foreach (var (badCell, badGuest) in new[] { (cell, "not-a-guest"), (cell, "*"), ("bad$cell", plain), (cell, "..%2F..%2Fetc") })
        {
            var answer = await Rest.DeleteAsync($"/api/v1/unknown_domains/{badCell}/{badGuest}", null, Admin);
            Assert.True(answer.ErrorCode is 400 or 404, answer.Text);
        }
        Assert.DoesNotContain(agent.Commands, c => c.StopInstance is not null || c.DeleteInstance is not null);
        Assert.Equal(4, Mine(await Rest.GetAsync("/api/v1/unknown_domains/", Admin)).Count());
    }
}
