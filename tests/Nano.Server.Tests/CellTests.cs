using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Nano.Contracts.Cell.V1;
using Nano.Server.Cells.Events;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Cells #6-#11, #22-#23 and the agent protocol, with a scripted agent on a real stream.</summary>
public sealed class CellTests(ZoneServer fixture) : IClassFixture<ZoneServer>
{
    private RestClient Rest => fixture.Rest;
    private string Admin => fixture.AdminSession;

    [Fact]
    public async Task AConnectingAgent_AppearsAsAnUnallocatedLiveCell()
    {
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("fresh"));
        Assert.Equal((int)ProtocolVersion.Current, agent.Welcome.ProtocolVersion);
        Assert.Equal(500, agent.Welcome.HeartbeatIntervalMs);
        Assert.Equal(1000, agent.Welcome.MetricsIntervalMs);
        var unallocated = await Rest.GetAsync("/api/v1/compute_pool_cells/", Admin);
        Assert.Contains(unallocated.Data!.AsArray(), c => c!.ToJsonString() == """{"name":"fresh","address":"127.0.0.1","enabled":true,"alive":true}""");
    }

    [Fact]
    public async Task ABadToken_IsRefused()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("intruder", token: "wrong")));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        var cells = await Rest.GetAsync("/api/v1/compute_pool_cells/", Admin);
        Assert.DoesNotContain(cells.Data!.AsArray(), c => c!["name"]!.GetValue<string>() == "intruder");
    }

    [Fact]
    public async Task AnotherProtocolVersion_IsRefusedClearly()
    {
        var hello = TestAgent.Hello("future");
        hello.ProtocolVersion = 99;
        var e = await Assert.ThrowsAsync<RpcException>(() => TestAgent.ConnectAsync(fixture.Server.Channel, hello));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("version 99", e.Status.Detail);
    }

    [Fact]
    public async Task ABadCellName_IsRefused()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("bad name")));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Theory]
    [InlineData("EPYC'/><model>x")]
    [InlineData("-host-passthrough")]
    [InlineData("")]
    public async Task AHelloWithCpuDefinitionsThatAreNoPlainNames_IsRefused(string cpu)
    {
        var hello = TestAgent.Hello("cpu_liar");
        hello.Cpus.AddRange(["host-passthrough", cpu]);
        var e = await Assert.ThrowsAsync<RpcException>(() => TestAgent.ConnectAsync(fixture.Server.Channel, hello));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.DoesNotContain((await Rest.GetAsync("/api/v1/compute_pool_cells/", Admin)).Data!.AsArray(), c => c!["name"]!.GetValue<string>() == "cpu_liar");
    }

    [Fact]
    public async Task Cell_AttachEnableDisableDetach()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_attach", new { }, Admin)).ErrorCode);
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_attach"));

        JsonAssert.Success("\"\"", await Rest.PostAsync("/api/v1/compute_pool_cells/p_attach/c_attach", null, Admin));
        var attach = Assert.Single(agent.Commands);
        Assert.Equal(new AttachStorage(), attach.AttachStorage);
        JsonAssert.Success("""[{"name":"c_attach","address":"127.0.0.1","enabled":true,"alive":true}]""", await Rest.GetAsync("/api/v1/compute_pool_cells/p_attach", Admin));
        JsonAssert.Success("""{"name":"c_attach","address":"127.0.0.1","enabled":true,"alive":true,"storage":[],"cpus":[]}""", await Rest.GetAsync("/api/v1/compute_pool_cells/p_attach/c_attach", Admin));
        JsonAssert.Success("""{"name":"p_attach","enabled":true,"cells":1,"storage":"","network":"","failover":false,"cpu":""}""", await Rest.GetAsync("/api/v1/compute_pools/p_attach", Admin));
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/compute_pool_cells/default/c_attach", null, Admin));
        JsonAssert.Failure(412, await Rest.DeleteAsync("/api/v1/compute_pools/p_attach", null, Admin));

        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/compute_pool_cells/p_attach/c_attach", new { enable = false }, Admin));
        JsonAssert.Failure(412, await Rest.PutAsync("/api/v1/compute_pool_cells/p_attach/c_attach", new { enable = false }, Admin));
        JsonAssert.Success("""{"name":"c_attach","address":"127.0.0.1","enabled":false,"alive":true,"storage":[],"cpus":[]}""",
            await Rest.GetAsync("/api/v1/compute_pool_cells/p_attach/c_attach", Admin));
        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/compute_pool_cells/p_attach/c_attach", new { enable = true }, Admin));

        JsonAssert.Failure(404, await Rest.DeleteAsync("/api/v1/compute_pool_cells/default/c_attach", null, Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/compute_pool_cells/p_attach/c_attach", null, Admin));
        JsonAssert.Success("[]", await Rest.GetAsync("/api/v1/compute_pool_cells/p_attach", Admin));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync("/api/v1/compute_pools/p_attach", null, Admin));
    }

    [Fact]
    public async Task Attach_ThatTheCellCannotMount_IsUndone()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/storage_pools/s_broken", new { type = "nfs", host = "127.0.0.1", target = "/nowhere" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_broken", new { storage = "s_broken" }, Admin)).ErrorCode);
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_broken"));
        agent.Answer = c => new CommandResult { Id = c.Id, Error = "mount.nfs: Connection refused" };

        var answer = await Rest.PostAsync("/api/v1/compute_pool_cells/p_broken/c_broken", null, Admin);
        JsonAssert.Failure(412, answer);
        Assert.Contains("Connection refused", answer.Message);
        var command = Assert.Single(agent.Commands);
        Assert.Equal(new AttachStorage { Pool = "s_broken", Type = "nfs", Host = "127.0.0.1", Target = "/nowhere" }, command.AttachStorage);
        JsonAssert.Success("[]", await Rest.GetAsync("/api/v1/compute_pool_cells/p_broken", Admin));
        Assert.Contains((await Rest.GetAsync("/api/v1/compute_pool_cells/", Admin)).Data!.AsArray(), c => c!["name"]!.GetValue<string>() == "c_broken");
    }

    [Fact]
    public async Task ARejoiningCell_MountsItsPoolStorageAgain_AndReportsTheOutcome()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/storage_pools/s_remount", new { type = "nfs", host = "127.0.0.1", target = "/export" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_remount", new { storage = "s_remount" }, Admin)).ErrorCode);
        var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_remount"));
        agent.Answer = c => new CommandResult { Id = c.Id, Storage = new CellStorage { Mode = "nfs", System = { "/var/lib/nano/mounts/s_remount" }, Data = { "/var/lib/nano/mounts/s_remount" } } };
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_remount/c_remount", null, Admin)).ErrorCode);
        JsonAssert.Success("""{"name":"c_remount","address":"127.0.0.1","enabled":true,"alive":true,"storage":[{"name":"s_remount","attached":true,"error":""}],"cpus":[]}""",
            await Rest.GetAsync("/api/v1/compute_pool_cells/p_remount/c_remount", Admin));
        JsonAssert.Success("""{"mode":"nfs","system":["/var/lib/nano/mounts/s_remount"],"data":["/var/lib/nano/mounts/s_remount"]}""",
            await Rest.GetAsync("/api/v1/compute_cell_status/p_remount/c_remount/storages", Admin));
        await agent.DisposeAsync();

        await using var back = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_remount"),
            c => new CommandResult { Id = c.Id, Error = "mount.nfs: access denied" });
        await Wait.ForAsync(async () => (await CellAsync("p_remount", "c_remount"))["storage"]!.ToJsonString() ==
            """[{"name":"s_remount","attached":false,"error":"mount.nfs: access denied"}]""");
        Assert.Equal("s_remount", Assert.Single(back.Commands).AttachStorage.Pool);
    }

    [Fact]
    public async Task Attach_ThatTheCellNeverAnswers_IsUnavailable_AndUndone()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_mute", new { }, Admin)).ErrorCode);
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_mute"));
        agent.Answer = _ => null;
        JsonAssert.Failure(503, await Rest.PostAsync("/api/v1/compute_pool_cells/p_mute/c_mute", null, Admin));
        JsonAssert.Success("[]", await Rest.GetAsync("/api/v1/compute_pool_cells/p_mute", Admin));
    }

    [Fact]
    public async Task CellStorages_ReadAndChange()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_store", new { }, Admin)).ErrorCode);
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_store"));
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_store/c_store", null, Admin)).ErrorCode);
        JsonAssert.Success("""{"mode":"local","system":["/var/lib/nano/images"],"data":["/var/lib/nano/images"]}""",
            await Rest.GetAsync("/api/v1/compute_cell_status/p_store/c_store/storages/", Admin));

        agent.Answer = c => new CommandResult { Id = c.Id, Storage = TestAgent.LocalStorage(c.ChangeStoragePath?.Path ?? "/var/lib/nano/images") };
        JsonAssert.Success("\"\"", await Rest.PutAsync("/api/v1/compute_cell_status/p_store/c_store/storages/", new { @default = "/srv/nano" }, Admin));
        Assert.Equal("/srv/nano", agent.Commands.Last().ChangeStoragePath.Path);
        JsonAssert.Success("""{"mode":"local","system":["/srv/nano"],"data":["/srv/nano"]}""",
            await Rest.GetAsync("/api/v1/compute_cell_status/p_store/c_store/storages", Admin));

        JsonAssert.Failure(412, await Rest.PutAsync("/api/v1/compute_cell_status/p_store/c_store/storages/", new { @default = "/srv/nano" }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync("/api/v1/compute_cell_status/p_store/c_store/storages/", new { @default = "relative/path" }, Admin));
        JsonAssert.Failure(400, await Rest.PutAsync("/api/v1/compute_cell_status/p_store/c_store/storages/", new { @default = "/srv/../etc" }, Admin));
        agent.Answer = c => new CommandResult { Id = c.Id, Error = "the current folder /srv/nano still holds volumes" };
        JsonAssert.Failure(412, await Rest.PutAsync("/api/v1/compute_cell_status/p_store/c_store/storages/", new { @default = "/srv/other" }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/compute_cell_status/default/c_store/storages/", Admin));
    }

    [Fact]
    public async Task ASilentCell_GoesOffline_AndComesBack()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pools/p_silent", new { }, Admin)).ErrorCode);
        var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_silent"));
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/compute_pool_cells/p_silent/c_silent", null, Admin)).ErrorCode);

        // The agent stops talking (no heartbeats): offline after the 3 s liveness timeout.
        var silentSince = DateTime.UtcNow;
        await Wait.ForAsync(async () => (await CellAsync("p_silent", "c_silent"))["alive"]!.GetValue<bool>() == false);
        Assert.True(DateTime.UtcNow - silentSince >= TimeSpan.FromSeconds(2), "offline before the liveness timeout");
        var status = await Rest.GetAsync("/api/v1/compute_pool_status/p_silent", Admin);
        Assert.Equal("[1,0]", status.Data!["cells"]!.ToJsonString());
        await agent.DisposeAsync();

        await using var back = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_silent"));
        Assert.True((await CellAsync("p_silent", "c_silent"))["alive"]!.GetValue<bool>());
        Assert.Equal("[0,1]", (await Rest.GetAsync("/api/v1/compute_pool_status/p_silent", Admin)).Data!["cells"]!.ToJsonString());
    }

    [Fact]
    public async Task TheEndOfAnOlderStream_WrittenAfterTheCellReconnected_LeavesItAlive()
    {
        var first = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_restream"));
        await using var second = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_restream"));

        // The end of a stream the cell's row no longer names, written after the newer stream registered (the
        // interleaving a loaded server produces when an agent reconnects while its old stream is being torn down).
        await fixture.Server.Services.GetRequiredService<CellLeft>().HandleAsync("c_restream", Guid.NewGuid());
        Assert.True((await CellOfAsync("c_restream"))["alive"]!.GetValue<bool>(), "an older stream's end took the cell offline");
        await first.DisposeAsync();
        await Task.Delay(200);
        Assert.True((await CellOfAsync("c_restream"))["alive"]!.GetValue<bool>(), "the replaced stream's end took the cell offline");

        await second.DisposeAsync();
        await Wait.ForAsync(async () => (await CellOfAsync("c_restream"))["alive"]!.GetValue<bool>() == false);
    }

    [Fact]
    public async Task HeartbeatsKeepACellAlive()
    {
        await using var agent = await TestAgent.ConnectAsync(fixture.Server.Channel, TestAgent.Hello("c_beating"));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(6);
        while (DateTime.UtcNow < until)
        {
            await agent.HeartbeatAsync();
            await Task.Delay(500);
            var cell = await CellOfAsync("c_beating");
            Assert.True(cell!["alive"]!.GetValue<bool>());
        }
    }

    private async Task<System.Text.Json.Nodes.JsonNode> CellOfAsync(string cell) =>
        (await Rest.GetAsync("/api/v1/compute_pool_cells/", Admin)).Data!.AsArray().Single(c => c!["name"]!.GetValue<string>() == cell)!;

    private async Task<System.Text.Json.Nodes.JsonNode> CellAsync(string pool, string cell) =>
        (await Rest.GetAsync($"/api/v1/compute_pool_cells/{pool}/{cell}", Admin)).Data!;
}
