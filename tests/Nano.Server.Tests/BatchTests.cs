using System.Net;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Batches #99-#104: create, stop and delete many guests with a status each.</summary>
public sealed class BatchTests(ZoneServer fixture) : GuestTestBase(fixture)
{
    [Fact]
    public async Task Batches_CreateStopAndDelete_WithPerGuestStatus()
    {
        var taken = await CreateGuestAsync($"b{Suffix}_1");
        await WaitCreatedAsync(taken);
        var request = new
        {
            name_rule = "order", name_prefix = $"b{Suffix}", count = 3, pool = Pool, template = General, cores = 1, memory = 256 * MiB,
            disks = new[] { 1024 * MiB },
        };
        var started = await Rest.PostAsync("/api/v1/batch/create_guest/", request, Admin);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, started.Status);
        var batch = started.Data!["id"]!.GetValue<string>();
        var items = await WaitBatchAsync("create_guest", batch);
        Assert.True(items[2]!["status"]!.GetValue<string>() == "created", items[2]!.ToJsonString());
        Assert.Contains("already has a guest", items[1]!["error"]!.GetValue<string>()); // one failure stops no other
        Assert.All(items.Where(i => i!["status"]!.GetValue<string>() == "created"), i => Assert.Equal(100, i!["progress"]!.GetValue<int>()));
        var ids = items.Where(i => i!["status"]!.GetValue<string>() == "created").Select(i => i!["id"]!.GetValue<string>()).ToList();
        Assert.All(ids, id => Assert.True(Guid.TryParse(id, out _)));
        var operation = (await Rest.GetAsync($"/api/v1/operations/{batch}", Admin)).Data!;
        Assert.Equal("batch_create_guest|succeeded|100", $"{operation["kind"]}|{operation["state"]}|{operation["percent"]}");

        Assert.Equal(2, ids.Count);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{ids[0]}", new { }, Admin)).ErrorCode);
        var stop = await Rest.PostAsync("/api/v1/batch/stop_guest/", new { guests = new[] { ids[0], ids[1] }, force = true }, Admin);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, stop.Status);
        var stopped = await WaitBatchAsync("stop_guest", stop.Data!["id"]!.GetValue<string>());
        Assert.Equal("stopped,fail", string.Join(',', stopped.Select(i => i!["status"]!.GetValue<string>())));
        Assert.Contains("not running", stopped[1]!["error"]!.GetValue<string>());

        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{ids[1]}", new { }, Admin)).ErrorCode);
        var delete = await Rest.PostAsync("/api/v1/batch/delete_guest/", new { guest = ids }, Admin);
        var deleted = await WaitBatchAsync("delete_guest", delete.Data!["id"]!.GetValue<string>());
        Assert.Equal("deleted,fail", string.Join(',', deleted.Select(i => i!["status"]!.GetValue<string>())));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/guests/{ids[0]}", Admin));
        Assert.Equal(0, (await Rest.GetAsync($"/api/v1/guests/{ids[1]}", Admin)).ErrorCode);

        // Bad requests start nothing.
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/batch/create_guest/", request with { count = 0 }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/batch/create_guest/", request with { name_rule = "MAC" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/batch/create_guest/", request with { name_prefix = "bad prefix" }, Admin));
        JsonAssert.Failure(404, await Rest.PostAsync("/api/v1/batch/delete_guest/", new { guest = new[] { ids[1], Guid.NewGuid().ToString() } }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/batch/stop_guest/", new { guest = Array.Empty<string>() }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/batch/stop_guest/{batch}", Admin)); // a creation batch, not a stop one
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/batch/create_guest/{Guid.NewGuid()}", Admin));
    }

    /// <summary>Issue 14, item 6: cancelling a batch cancels the creations it started; each undoes itself and its item says so.</summary>
    [Fact]
    public async Task CancellingABatch_CancelsItsCreations_AndEveryItemEnds()
    {
        var gate = new TaskCompletionSource();
        Agent.HoldAnswers(c => c.CreateInstance is not null, gate.Task, Answer);
        var request = new
        {
            name_rule = "order", name_prefix = $"x{Suffix}", count = 3, pool = Pool, template = General, cores = 1, memory = 256 * MiB,
            disks = new[] { 1024 * MiB },
        };
        var batch = (await Rest.PostAsync("/api/v1/batch/create_guest/", request, Admin)).Data!["id"]!.GetValue<string>();
        await Wait.ForAsync(() => Task.FromResult(Agent.Commands.Any(c => c.CreateInstance is not null)));
        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/operations/{batch}", null, Admin));

        var items = await WaitBatchAsync("create_guest", batch);
        Assert.All(items, i => Assert.Equal("fail|cancelled with its batch", $"{i!["status"]}|{i["error"]}"));
        Assert.Equal("cancelled", (await Rest.GetAsync($"/api/v1/operations/{batch}", Admin)).Data!["state"]!.GetValue<string>());
        var created = Agent.Commands.Where(c => c.CreateInstance is not null).Select(c => c.CreateInstance.GuestId).ToList();
        Assert.NotEmpty(created);
        foreach (var id in created)
        {
            await Wait.ForAsync(async () => (await Rest.GetAsync($"/api/v1/guests/{id}", Admin)).ErrorCode == 404);
            Assert.Contains(Agent.Commands, c => c.DeleteInstance?.GuestId == id);
            Assert.Equal(0, await AllocationsAsync(id));
        }
        gate.SetResult();
    }
}
