using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Batch tasks (api-decisions.md 4.11): create, delete or stop many guests as one operation whose items carry
/// each guest's status and error. Items run independently (one failing stops no other), at most
/// Nano:BatchConcurrency at a time, so a large batch does not swamp its cells.
/// </summary>
public sealed class Batches(
    BatchRepository items, Operations operations, GuestCreation creation, GuestAccess access, GuestLifecycle lifecycle, GuestRepository guests,
    ComputePoolRepository pools, GuestLimits limits, Microsoft.Extensions.Options.IOptions<Hosting.NanoOptions> options)
{
    public const int MaxGuests = 1000;
    public const string CreateKind = OperationKinds.BatchCreateGuest;
    public const string DeleteKind = OperationKinds.BatchDeleteGuest;
    public const string StopKind = OperationKinds.BatchStopGuest;

    /// <summary>The error of an item the batch's cancellation stopped (or never let start).</summary>
    public const string CancelledWithBatch = "cancelled with its batch";

    /// <summary>Statuses of items not finished yet.</summary>
    public static readonly string[] Running = ["creating", "deleting", "stopping"];

    /// <summary>#99: guests &lt;prefix&gt;_0 .. &lt;prefix&gt;_&lt;count-1&gt;, each created as #37 would create <paramref name="guest"/>.</summary>
    public async Task<Guid> StartCreateAsync(string nameRule, string namePrefix, int count, GuestAsk guest, SessionContext session)
    {
        if (nameRule is not ("" or "order"))
            throw Fail.Invalid($"name_rule '{nameRule}' is not supported: only order");
        var prefix = InputRules.Name("name_prefix", namePrefix);
        if (count is <= 0 or > MaxGuests)
            throw Fail.Invalid($"count must be between 1 and {MaxGuests}");
        var names = Enumerable.Range(0, count).Select(i => $"{prefix}_{i}").ToList();
        // The whole request is checked once, as its first guest: a bad field fails the batch before anything starts.
        var request = GuestRules.Validate(guest with { Name = names[0] }, session, limits);
        _ = await pools.FindAsync(request.Pool) ?? throw Fail.NotFound($"compute pool '{request.Pool}' not found");
        return await RunAsync(CreateKind, session, [.. names.Select(n => (n, (Guid?)null))], "creating", async (batch, position, name, _, ct) =>
        {
            var id = await creation.StartAsync(request with { Name = name }, session);
            await items.UpdateAsync(batch, position, "creating", id);
            if ((await guests.FindAsync(id))?.Operation is not { } operation)
                return ("created", "");
            // Cancelling the batch cancels the creation (which undoes itself); the item says how it ended either way.
            OperationRow outcome;
            using (ct.Register(() => { var cancelling = operations.CancelAsync(operation); }))
                outcome = await operations.WaitAsync(operation, CancellationToken.None);
            return outcome.State switch
            {
                Operations.Succeeded => ("created", ""),
                Operations.Cancelled => ("fail", CancelledWithBatch),
                _ => ("fail", outcome.Error),
            };
        });
    }

    /// <summary>#101: stopped guests deleted; every id must exist (and be visible) when the batch is asked for.</summary>
    public async Task<Guid> StartDeleteAsync(IReadOnlyList<string> ids, SessionContext session) =>
        await RunAsync(DeleteKind, session, await GuestsAsync(ids, session), "deleting", async (_, _, _, guest, ct) =>
        {
            await lifecycle.DeleteAsync(await access.FindAsync(session, guest.ToString()), ct);
            return ("deleted", "");
        });

    /// <summary>#103: running guests stopped (ACPI shutdown, or power off with force).</summary>
    public async Task<Guid> StartStopAsync(IReadOnlyList<string> ids, bool force, SessionContext session) =>
        await RunAsync(StopKind, session, await GuestsAsync(ids, session), "stopping", async (_, _, _, guest, ct) =>
        {
            await lifecycle.StopAsync(await access.FindAsync(session, guest.ToString()), reboot: false, force, ct);
            return ("stopped", "");
        });

    /// <summary>A batch's items, for its owner or a user administrator; the kind must match the route.</summary>
    public async Task<(IReadOnlyList<BatchItemRow> Items, bool Finished)> GetAsync(string kind, string id, SessionContext session)
    {
        var operation = Guid.TryParse(id, out var guid) ? await operations.FindAsync(guid) : null;
        if (operation is null || operation.Kind != kind || !AccessRules.MayChange(session, operation.CreatedBy))
            throw Fail.NotFound($"batch '{(id.Length > 40 ? id[..40] : id)}' not found");
        var list = await items.ListAsync(guid);
        return (list, list.All(i => !Running.Contains(i.Status)));
    }

    private async Task<List<(string Name, Guid? Guest)>> GuestsAsync(IReadOnlyList<string> ids, SessionContext session)
    {
        if (ids.Count == 0)
            throw Fail.Invalid("guest must list at least one guest id");
        if (ids.Count > MaxGuests)
            throw Fail.Invalid($"at most {MaxGuests} guests per batch");
        var found = new List<(string, Guid?)>();
        foreach (var id in ids.Distinct())
        {
            var guest = await access.FindAsync(session, id);
            found.Add((guest.Name, guest.Id));
        }
        return found;
    }

    /// <summary>Records the batch (an operation) and its items, then works the items off in the background.</summary>
    private async Task<Guid> RunAsync(string kind, SessionContext session, List<(string Name, Guid? Guest)> list, string status,
        Func<Guid, int, string, Guid, CancellationToken, Task<(string Status, string Error)>> work)
    {
        var batch = Guid.Empty; // set by prepare, before the work starts
        await operations.StartAsync(kind, $"{list.Count} guests", session.User, async (progress, ct) =>
        {
            using var slots = new SemaphoreSlim(Math.Max(1, options.Value.BatchConcurrency));
            var done = 0;
            await Task.WhenAll(list.Select(async (item, position) =>
            {
                (string Status, string Error) outcome;
                try
                {
                    await slots.WaitAsync(ct);
                }
                catch (OperationCanceledException)
                {
                    await items.UpdateAsync(batch, position, "fail", error: CancelledWithBatch);
                    return;
                }
                try
                {
                    outcome = await work(batch, position, item.Name, item.Guest ?? Guid.Empty, ct);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    outcome = ("fail", CancelledWithBatch);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    outcome = ("fail", Fail.Reason(e));
                }
                finally
                {
                    slots.Release();
                }
                await items.UpdateAsync(batch, position, outcome.Status, error: outcome.Error);
                var finished = Interlocked.Increment(ref done);
                await progress.ReportAsync($"{finished} of {list.Count} guests done", finished * 100 / list.Count);
            }));
            // Every item has its ending; a cancelled batch ends cancelled.
            ct.ThrowIfCancellationRequested();
        }, prepare: id =>
        {
            batch = id;
            return items.InsertItemsAsync(id, list, status);
        });
        return batch;
    }
}
