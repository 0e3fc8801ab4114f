using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>OperationService over operations started in the server (the areas that start them test them end to end).</summary>
public sealed class OperationTests(InitializedServer fixture) : ApiTest(fixture)
{
    private Operations Operations => Fixture.Server.Services.GetRequiredService<Operations>();

    [Fact]
    public async Task Watch_SendsEachChange_ThenTheTerminalState_AndEnds()
    {
        var step = new SemaphoreSlim(0);
        var id = await Operations.StartAsync("test_work", "target-1", "admin", async (progress, token) =>
        {
            await step.WaitAsync(token);
            await progress.ReportAsync("first half", 40);
            await step.WaitAsync(token);
            await progress.ReportAsync("second half", 90);
            await step.WaitAsync(token);
        });

        var client = new OperationService.OperationServiceClient(Fixture.Server.Channel);
        using var call = client.WatchOperation(new WatchOperationRequest { Id = id.ToString() }, TestServer.Call(Admin));
        using var cancel = new CancellationTokenSource(TestServer.Deadline);
        var seen = new List<Operation>();
        Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
        seen.Add(call.ResponseStream.Current.Data);
        while (!seen[^1].Finished)
        {
            step.Release();
            Assert.True(await call.ResponseStream.MoveNext(cancel.Token));
            seen.Add(call.ResponseStream.Current.Data);
        }
        Assert.False(await call.ResponseStream.MoveNext(cancel.Token));

        Assert.Equal(["pending:0:", "running:40:first half", "running:90:second half", "succeeded:100:second half"],
            seen.Select(o => $"{o.State}:{o.Percent}:{o.Stage}"));
        Assert.All(seen, o => Assert.Equal("test_work", o.Kind));

        var rest = await Rest.GetAsync($"/api/v1/operations/{id}", Admin);
        var data = rest.Data!.AsObject();
        Assert.Equal(["id", "kind", "target", "state", "stage", "percent", "error", "user", "created_time", "updated_time", "finished"], data.Select(p => p.Key));
        Assert.Equal($"{id}|test_work|target-1|succeeded|100||admin|True",
            $"{data["id"]}|{data["kind"]}|{data["target"]}|{data["state"]}|{data["percent"]}|{data["error"]}|{data["user"]}|{data["finished"]!.GetValue<bool>()}");
    }

    [Fact]
    public async Task Cancel_StopsTheWork_WhichUndoesItself()
    {
        var undone = new TaskCompletionSource();
        var id = await Operations.StartAsync("test_cancel", "t", "admin", async (progress, token) =>
        {
            await progress.ReportAsync("waiting", 10);
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                undone.SetResult();
                throw;
            }
        });
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/operations/{id}", Admin)).Data!["state"]!.GetValue<string>() == "running");
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/operations/{id}", null, Admin));
        await undone.Task.WaitAsync(TestServer.Deadline);
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/operations/{id}", Admin)).Data!["state"]!.GetValue<string>() == "cancelled");
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/operations/{id}", null, Admin));
    }

    [Fact]
    public async Task AFailingOperation_RecordsWhy()
    {
        var id = await Operations.StartAsync("test_fail", "t", "admin", (_, _) =>
            throw new RpcException(new Status(StatusCode.Unavailable, "cell 'x' did not answer within 10 s")));
        await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/operations/{id}", Admin)).Data!["finished"]!.GetValue<bool>());
        var failed = await Rest.GetAsync($"/api/v1/operations/{id}", Admin);
        Assert.Equal("failed", failed.Data!["state"]!.GetValue<string>());
        Assert.Equal("cell 'x' did not answer within 10 s", failed.Data!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task OthersOperations_AreHidden_FromOrdinaryUsers()
    {
        var gate = new TaskCompletionSource();
        var id = await Operations.StartAsync("test_private", "t", "admin", (_, token) => gate.Task.WaitAsync(token));
        var other = await Fixture.UserWithMenusAsync("opsuser", "instance");
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/operations/{id}", other));
        JsonAssert.Failure(404, await Rest.DeleteAsync($"/api/v1/operations/{id}", null, other));
        Assert.DoesNotContain((await Rest.GetAsync("/api/v1/operations/?limit=100", other)).Data!.AsArray(), o => o!["id"]!.GetValue<string>() == id.ToString());
        var mine = await Operations.StartAsync("test_own", "t", "opsuser_user", (_, token) => gate.Task.WaitAsync(token));
        Assert.Equal(0, (await Rest.GetAsync($"/api/v1/operations/{mine}", other)).ErrorCode);
        Assert.Contains((await Rest.GetAsync("/api/v1/operations/?active_only=true", Admin)).Data!.AsArray(), o => o!["id"]!.GetValue<string>() == id.ToString());
        gate.SetResult();
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/operations/not-a-uuid", Admin));
    }

    [Fact]
    public async Task OperationsLeftByAStoppedServer_AreMarkedFailed()
    {
        var orphan = Guid.NewGuid();
        await using (var db = new Npgsql.NpgsqlConnection(Fixture.Server.Database))
        {
            await db.OpenAsync();
            await using var insert = new Npgsql.NpgsqlCommand($"INSERT INTO operations (id, kind, created_by, state) VALUES ('{orphan}', 'test_orphan', 'admin', 'running')", db);
            await insert.ExecuteNonQueryAsync();
        }
        await Operations.AbandonOrphansAsync();
        var row = await Rest.GetAsync($"/api/v1/operations/{orphan}", Admin);
        Assert.Equal("failed", row.Data!["state"]!.GetValue<string>());
        Assert.Contains("server stopped", row.Data!["error"]!.GetValue<string>());
    }
}
