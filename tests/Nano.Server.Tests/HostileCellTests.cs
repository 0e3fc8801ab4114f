using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// Security, addresses a cell announces (issue 13, item 6): a hostile cell reports a console, or a migration URI, on
/// another host than its own registered address, to have the server's console relay or another cell's libvirtd connect
/// there (request forgery). Both are refused and nothing connects.
/// </summary>
public sealed class HostileCellTests(ZoneServer fixture) : GuestTestBase(fixture)
{
    private const string Elsewhere = "169.254.169.254";

    protected override Hello CellHello()
    {
        var hello = base.CellHello();
        hello.MigrationUri = $"qemu+tcp://{Elsewhere}/system";
        return hello;
    }

    private async Task<string> RunningGuestAsync(string name)
    {
        var id = await CreateGuestAsync(name);
        await WaitCreatedAsync(id);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        return id;
    }

    [Fact]
    public async Task AConsoleReportedOnAnotherHost_GetsNoChannel()
    {
        Agent.Answer = c => c.StartInstance is not null
            ? new CommandResult { Id = c.Id, Instance = new InstanceState { GuestId = c.StartInstance.GuestId, State = DomainState.Running, DisplayAddress = $"{Elsewhere}:80" } }
            : Answer(c);
        var id = await RunningGuestAsync("lure");

        var refused = await Rest.PostAsync("/api/v1/monitor_channels/", new { guest = id }, Admin);
        JsonAssert.Failure(503, refused);
        Assert.Contains(Elsewhere, refused.Message);
        Assert.Contains("not on the cell's address 127.0.0.1", refused.Message);
    }

    [Fact]
    public async Task AMigrationUriOnAnotherHost_IsNeverHandedToTheTargetCell()
    {
        var id = await RunningGuestAsync("bait");
        var hello = TestAgent.Hello($"ct_{Suffix}", cores: 8);
        hello.MigrationUri = "qemu+tcp://127.0.0.1/system";
        await using var target = await TestAgent.ConnectAsync(Zone.Server.Channel, hello, Answer);
        await using var beating = target.KeepAlive();
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/compute_pool_cells/{Pool}/ct_{Suffix}", null, Admin)).ErrorCode);

        var refused = await Rest.PostAsync("/api/v1/migrations/", new { source_pool = Pool, source_cell = $"cg_{Suffix}", target_cell = $"ct_{Suffix}", instances = new[] { id } }, Admin);
        JsonAssert.Failure(412, refused);
        Assert.Contains(Elsewhere, refused.Message);
        Assert.DoesNotContain(target.Commands, c => c.ImportInstance is not null);
        Assert.Equal($"cg_{Suffix}", (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).Data!["cell"]!.GetValue<string>());
    }
}
