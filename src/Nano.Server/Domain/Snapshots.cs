using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Snapshot trees of stopped guests (api-decisions.md 4.6), kept as internal qcow2 snapshots by the cell and
/// as rows here. Creating and reverting are operations; deleting follows the upstream dependency rules.
/// </summary>
public sealed class Snapshots(SnapshotRepository snapshots, CellCommands commands, Operations operations)
{
    public Task<IReadOnlyList<SnapshotRow>> ListAsync(GuestRow guest) => snapshots.ListAsync(guest.Id);

    public async Task<SnapshotRow> FindAsync(GuestRow guest, string name) =>
        (await snapshots.ListAsync(guest.Id)).FirstOrDefault(s => s.Name == name)
        ?? throw Fail.NotFound($"guest '{guest.Name}' has no snapshot '{name}'");

    public async Task CreateAsync(GuestRow guest, string name, string description, string user, CancellationToken cancellationToken)
    {
        RequireStopped(guest);
        name = InputRules.SnapshotName(name);
        description = IdentityRules.Text("description", description, 1024);
        if ((await snapshots.ListAsync(guest.Id)).Any(s => s.Name == name))
            throw Fail.Exists($"guest '{guest.Name}' already has a snapshot '{name}'");
        await operations.RunAsync(OperationKinds.CreateSnapshot, guest.Id.ToString(), user, async (progress, cancel) =>
        {
            await progress.ReportAsync($"snapshotting as {name}", 10);
            await commands.CreateSnapshotAsync(guest, name, description, cancel);
            await snapshots.AddAsync(guest.Id, name, description).OrFail(exists: $"a snapshot named '{name}' already exists");
        }, cancellationToken);
    }

    public async Task RevertAsync(GuestRow guest, string target, string user, CancellationToken cancellationToken)
    {
        RequireStopped(guest);
        var snapshot = await FindAsync(guest, target);
        await operations.RunAsync(OperationKinds.RevertSnapshot, guest.Id.ToString(), user, async (progress, cancel) =>
        {
            await progress.ReportAsync($"reverting to {snapshot.Name}", 10);
            await commands.RevertSnapshotAsync(guest, snapshot.Name, cancel);
            await snapshots.MakeCurrentAsync(guest.Id, snapshot.Name);
        }, cancellationToken);
    }

    /// <summary>Refused when two or more snapshots depend on it, or when it is current and one depends on it.</summary>
    public async Task DeleteAsync(GuestRow guest, string name, CancellationToken cancellationToken)
    {
        RequireStopped(guest);
        var all = await snapshots.ListAsync(guest.Id);
        var snapshot = all.FirstOrDefault(s => s.Name == name) ?? throw Fail.NotFound($"guest '{guest.Name}' has no snapshot '{name}'");
        var children = all.Count(s => s.Parent == name);
        if (children >= 2)
            throw Fail.Precondition($"{children} snapshots depend on '{name}'");
        if (snapshot.IsCurrent && children == 1)
            throw Fail.Precondition($"'{name}' is current and another snapshot depends on it");
        await commands.DeleteSnapshotAsync(guest, name, cancellationToken);
        await snapshots.RemoveAsync(guest.Id, snapshot);
    }

    private static void RequireStopped(GuestRow guest)
    {
        GuestLifecycle.RequireCreated(guest);
        if (guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is running: snapshots need it stopped");
    }
}
