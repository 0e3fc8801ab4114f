using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Snapshot trees #62-#66 through a scripted cell.</summary>
public sealed class SnapshotTests(ZoneServer fixture) : IClassFixture<ZoneServer>, IAsyncLifetime
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private TestAgent _agent = null!;
    private IAsyncDisposable _heartbeats = null!;
    private string _guest = "";

    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;

    public async Task InitializeAsync()
    {
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pools/ps_{_suffix}", new { }, Admin)).ErrorCode);
        _agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello($"cs_{_suffix}"));
        _agent.Answer = c => c.BodyCase switch
        {
            Command.BodyOneofCase.StartInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { State = DomainState.Running } },
            Command.BodyOneofCase.StopInstance => new CommandResult { Id = c.Id, Instance = new InstanceState { State = DomainState.Stopped } },
            Command.BodyOneofCase.AttachStorage => new CommandResult { Id = c.Id, Storage = TestAgent.LocalStorage("/var/lib/nano/images") },
            _ => new CommandResult { Id = c.Id, Instance = new InstanceState { State = DomainState.Stopped } },
        };
        _heartbeats = _agent.KeepAlive();
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/ps_{_suffix}/cs_{_suffix}", null, Admin)).ErrorCode);
        await _agent.MetricsAsync(new MetricsSample { AvailableMemory = 8L << 30, AvailableDisk = 100L << 30 });
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/compute_cell_status/cs_{_suffix}", Admin)).Data!["available_disk"]!.GetValue<long>() == 100L << 30); // the sample is in (the hello said 500 bytes)
        var created = await Rest.PostAsync("/api/v1/guests/", new { name = "snappy", pool = $"ps_{_suffix}", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 1L << 28, disks = new[] { 1L << 30 } }, Admin);
        Assert.True(created.ErrorCode == 0, created.Text);
        _guest = created.Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{_guest}", Admin)).Data?["created"]?.GetValue<bool>() == true);
    }

    public async Task DisposeAsync()
    {
        await _heartbeats.DisposeAsync();
        await _agent.DisposeAsync();
    }

    [Fact]
    public async Task TheTree_GrowsBranchesAndShrinks_ByTheRules()
    {
        var path = $"/api/v1/instances/{_guest}/snapshots/";
        JsonAssert.Success("{}", await Rest.GetAsync(path, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync(path, new { name = "a", description = "first" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync(path, new { name = "b" }, Admin));
        JsonAssert.Success("""{"a":{"is_root":true,"is_current":false,"backing":""},"b":{"is_root":false,"is_current":true,"backing":"a"}}""", await Rest.GetAsync(path, Admin));

        JsonAssert.Success("\"\"", await Rest.PutAsync(path, new { target = "a" }, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync(path, new { name = "c.1" }, Admin));
        JsonAssert.Success("""{"a":{"is_root":true,"is_current":false,"backing":""},"b":{"is_root":false,"is_current":false,"backing":"a"},"c.1":{"is_root":false,"is_current":true,"backing":"a"}}""",
            await Rest.GetAsync(path, Admin));
        JsonAssert.Failure(412, await Rest.DeleteAsync($"{path}a", null, Admin));

        var detail = await Rest.GetAsync($"{path}a", Admin);
        Assert.Equal("first", detail.Data!["description"]!.GetValue<string>());
        Assert.False(detail.Data!["running"]!.GetValue<bool>());

        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"{path}b", null, Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync(path, new { target = "a" }, Admin));
        JsonAssert.Failure(412, await Rest.DeleteAsync($"{path}a", null, Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"{path}c.1", null, Admin));
        JsonAssert.Success("""{"a":{"is_root":true,"is_current":true,"backing":""}}""", await Rest.GetAsync(path, Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"{path}a", null, Admin));
        JsonAssert.Success("{}", await Rest.GetAsync(path, Admin));

        Assert.Equal(["create_snapshot", "create_snapshot", "revert_snapshot", "create_snapshot", "revert_snapshot"],
            _agent.Commands.Where(c => c.CreateSnapshot is not null || c.RevertSnapshot is not null).Select(c => c.CreateSnapshot is not null ? "create_snapshot" : "revert_snapshot"));
        var operations = await Rest.GetAsync($"/api/v1/operations/?target={_guest}&limit=100", Admin);
        Assert.Equal(5, operations.Data!.AsArray().Count(o => o!["kind"]!.GetValue<string>() is "create_snapshot" or "revert_snapshot" && o["state"]!.GetValue<string>() == "succeeded"));
    }

    [Fact]
    public async Task BadSnapshotRequests_ChangeNothing()
    {
        var path = $"/api/v1/instances/{_guest}/snapshots/";
        JsonAssert.Failure(400, await Rest.PostAsync(path, new { name = "bad name" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync(path, new { name = "" }, Admin));
        Assert.Equal(0, (await Rest.PostAsync(path, new { name = "one" }, Admin)).ErrorCode);
        JsonAssert.Failure(409, await Rest.PostAsync(path, new { name = "one" }, Admin));
        JsonAssert.Failure(404, await Rest.PutAsync(path, new { target = "none" }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync($"{path}none", Admin));

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{_guest}", new { }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PostAsync(path, new { name = "live" }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync(path, new { target = "one" }, Admin));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{_guest}", new { force = true }, Admin)).ErrorCode);
        JsonAssert.Success("""{"one":{"is_root":true,"is_current":true,"backing":""}}""", await Rest.GetAsync(path, Admin));
    }

    [Fact]
    public async Task DiskWorkThatWouldLoseSnapshots_IsRefused_WhileAnyExist_AndReachesNoCell()
    {
        var path = $"/api/v1/instances/{_guest}/snapshots/";
        Assert.Equal(0, (await Rest.PostAsync(path, new { name = "kept" }, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{_guest}/disks/shrink/0", new { }, Admin)); // qemu-img convert drops them
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{_guest}/disks/resize/0", new { size = 2L << 30 }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync($"/api/v1/guests/{_guest}/system/", new { }, Admin));
        Assert.DoesNotContain(_agent.Commands, c => c.ChangeDisk is not null || c.ResetSystem is not null);
        JsonAssert.Success("""{"kept":{"is_root":true,"is_current":true,"backing":""}}""", await Rest.GetAsync(path, Admin));
        Assert.Equal($"[{1L << 30}]", (await Rest.GetAsync($"/api/v1/guests/{_guest}", Admin)).Data!["disks"]!.ToJsonString());

        Assert.Equal(0, (await Rest.DeleteAsync($"{path}kept", null, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/guests/{_guest}/disks/shrink/0", new { }, Admin)).ErrorCode); // none left: allowed
    }
}
