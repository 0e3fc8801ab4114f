using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Changes to a created guest's settings (api-decisions.md 4.5 Modify). Each decides the changed row, has the cell
/// define the domain again from it, and writes the row only when the cell did (<see cref="OptimisticChange"/>):
/// the domain and the row agree, and no row is held while the cell works. Cores, memory and QoS take effect at the next start.
/// </summary>
public sealed class GuestChanges(
    GuestRepository guests, CellCommands commands, Operations operations, SnapshotRepository snapshots, ImageCatalog images, GuestLimits limits)
{
    private static readonly string[] Priorities = ["high", "medium", "low"];

    public Task SetCoresAsync(GuestRow guest, int cores, CancellationToken ct)
    {
        limits.RequireCores(cores);
        return RedefineAsync(guest, row =>
        {
            RefuseUnchanged(row.Cores == cores, $"guest '{row.Name}' already has {cores} cores");
            return row with { Cores = cores };
        }, ct);
    }

    public Task SetMemoryAsync(GuestRow guest, long memory, CancellationToken ct)
    {
        limits.RequireMemory(memory);
        return RedefineAsync(guest, row =>
        {
            RefuseUnchanged(row.Memory == memory, $"guest '{row.Name}' already has {memory} bytes of memory");
            return row with { Memory = memory };
        }, ct);
    }

    public Task SetAutoStartAsync(GuestRow guest, bool enable, CancellationToken ct) =>
        RedefineAsync(guest, row =>
        {
            RefuseUnchanged(row.AutoStart == enable, $"auto start of guest '{row.Name}' is already {(enable ? "on" : "off")}");
            return row with { AutoStart = enable };
        }, ct);

    public Task SetCpuPriorityAsync(GuestRow guest, string priority, CancellationToken ct)
    {
        if (!Priorities.Contains(priority))
            throw Fail.Invalid($"priority must be high, medium or low, not '{priority}'");
        return RedefineAsync(guest, row =>
        {
            RefuseUnchanged(row.CpuPriority == priority, $"guest '{row.Name}' already has CPU priority {priority}");
            return row with { CpuPriority = priority };
        }, ct);
    }

    /// <summary>Replaces all four disk limits; the guest must be stopped.</summary>
    public Task SetDiskLimitsAsync(GuestRow guest, long readSpeed, long writeSpeed, long readIops, long writeIops, CancellationToken ct)
    {
        if (new[] { readSpeed, writeSpeed, readIops, writeIops }.Any(v => v < 0))
            throw Fail.Invalid("disk limits must not be negative");
        return RedefineAsync(guest, row =>
        {
            RequireStopped(row, "disk limits change only while the guest is stopped");
            RefuseUnchanged((row.ReadSpeed, row.WriteSpeed, row.ReadIops, row.WriteIops) == (readSpeed, writeSpeed, readIops, writeIops),
                $"guest '{row.Name}' already has these disk limits");
            return row with { ReadSpeed = readSpeed, WriteSpeed = writeSpeed, ReadIops = readIops, WriteIops = writeIops };
        }, ct);
    }

    /// <summary>Replaces both network limits.</summary>
    public Task SetNetworkLimitsAsync(GuestRow guest, long receiveSpeed, long sendSpeed, CancellationToken ct)
    {
        if (receiveSpeed < 0 || sendSpeed < 0)
            throw Fail.Invalid("network limits must not be negative");
        return RedefineAsync(guest, row =>
        {
            RefuseUnchanged((row.ReceiveSpeed, row.SendSpeed) == (receiveSpeed, sendSpeed), $"guest '{row.Name}' already has these network limits");
            return row with { ReceiveSpeed = receiveSpeed, SendSpeed = sendSpeed };
        }, ct);
    }

    /// <summary>A new console password (B3), of the 8 characters VNC authentication takes; a running guest's console takes it at once.</summary>
    public Task ResetMonitorSecretAsync(GuestRow guest, CancellationToken ct)
    {
        var secret = Secrets.New(Secrets.ConsoleLength);
        return RedefineAsync(guest, row => row with { MonitorSecret = secret }, ct);
    }

    /// <summary>Grows disk <paramref name="disk"/> (0 system, 1.. data) of a stopped guest to <paramref name="size"/> bytes.</summary>
    public async Task ResizeDiskAsync(GuestRow guest, int disk, long size, CancellationToken ct)
    {
        await RequireNoSnapshotsAsync(guest, "resizing its disks");
        await ChangeAsync(guest, row =>
        {
            if (disk < 0 || disk >= row.Disks.Length)
                throw Fail.NotFound($"guest '{row.Name}' has no disk {disk}");
            if (size <= row.Disks[disk])
                throw Fail.Invalid($"the new size must be larger than {row.Disks[disk]} bytes");
            limits.RequireDisk(size);
            RequireStopped(row, "disks are resized only while the guest is stopped");
            var disks = row.Disks.ToArray();
            disks[disk] = size;
            return row with { Disks = disks };
        }, changed => commands.ResizeDiskAsync(changed, disk, size, ct), restore: null);
    }

    /// <summary>Compacts disk <paramref name="disk"/> of a stopped guest; sizes do not change.</summary>
    public async Task ShrinkDiskAsync(GuestRow guest, int disk, CancellationToken ct)
    {
        if (disk < 0 || disk >= guest.Disks.Length)
            throw Fail.NotFound($"guest '{guest.Name}' has no disk {disk}");
        RequireStopped(guest, "disks are compacted only while the guest is stopped");
        await RequireNoSnapshotsAsync(guest, "compacting its disks"); // qemu-img convert would drop them
        await commands.CompactDiskAsync(guest, disk, ct);
    }

    /// <summary>Disk work that would lose or break the guest's internal snapshots is refused while it has any.</summary>
    private async Task RequireNoSnapshotsAsync(GuestRow guest, string work)
    {
        if ((await snapshots.ListAsync(guest.Id)).Count > 0)
            throw Fail.Precondition($"guest '{guest.Name}' has snapshots: delete them before {work}");
    }

    /// <summary>
    /// #44 without an image (disk images are their own area): the system disk becomes blank. The guest
    /// reads as not created (GET answers 201) while the reset_system operation runs; its data disks stay.
    /// </summary>
    public async Task ResetSystemAsync(GuestRow guest, string fromImage, SessionContext session, CancellationToken ct)
    {
        RequireStopped(guest, "the system is reset only while the guest is stopped");
        await RequireNoSnapshotsAsync(guest, "resetting its system");
        var image = string.IsNullOrEmpty(fromImage) ? null : await images.FindUsableAsync(session, Images.ImageKinds.Disk, fromImage);
        await operations.RunAsync(OperationKinds.ResetSystem, guest.Id.ToString(), session.User, async (progress, cancel) =>
        {
            // The row names the image being written from the start: a server that stops half-way is told by it what to finish.
            await guests.MarkRebuildingAsync(guest.Id, progress.Id, image?.Id);
            var reset = false;
            try
            {
                await progress.ReportAsync(image is null ? "writing a blank system disk" : "building the system disk over the image", 10);
                await commands.ResetSystemAsync(guest, image,
                    image is null ? null : progress.Within("fetching the disk image", 10, 90), cancel);
                reset = true;
            }
            finally
            {
                if (!reset)
                    await guests.SetSystemImageAsync(guest.Id, guest.SystemImage);
                await guests.MarkRebuiltAsync(guest.Id);
            }
        }, ct);
    }

    /// <summary>
    /// #45: sets the administrator password inside the running guest through its QEMU guest agent (the
    /// guest needs the qemu module), then stores the pair. Empty user: the current admin; empty password: 10 random characters.
    /// </summary>
    public async Task<(string User, string Password)> SetAuthAsync(GuestRow guest, string user, string password, CancellationToken ct)
    {
        GuestLifecycle.RequireCreated(guest);
        if (!guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is not running: its guest agent sets passwords");
        if (!guest.Modules.Contains("qemu"))
            throw Fail.Precondition($"guest '{guest.Name}' was created without the qemu module (guest agent)");
        user = string.IsNullOrEmpty(user) ? guest.AdminName : InputRules.Name("user", user);
        password = string.IsNullOrEmpty(password) ? Secrets.New(10) : IdentityRules.Text("password", password, 128);
        await ChangeAsync(guest, row => row with { AdminName = user, AdminSecret = password },
            changed => commands.SetPasswordAsync(changed, user, password, ct), restore: null);
        return (user, password);
    }

    /// <summary>Renames a stopped guest; stored exactly as given (upstream adds no group prefix on rename).</summary>
    public async Task RenameAsync(GuestRow guest, string name, CancellationToken ct)
    {
        name = InputRules.Name("guest", name);
        RequireStopped(guest, "a guest is renamed only while it is stopped");
        await ChangeAsync(guest, row =>
        {
            RefuseUnchanged(row.Name == name, $"guest is already named '{name}'");
            return row with { Name = name };
        }, _ => Task.CompletedTask, restore: null);
    }

    /// <summary>A change of the domain's definition: the cell defines the domain again from the whole changed row.</summary>
    private Task RedefineAsync(GuestRow guest, Func<GuestRow, GuestRow> edit, CancellationToken ct)
    {
        GuestLifecycle.RequireCreated(guest);
        return ChangeAsync(guest, edit, changed => commands.RedefineAsync(changed, ct), restore: stored => commands.RedefineAsync(stored, ct));
    }

    /// <summary>
    /// Changes a guest's settings the way <see cref="OptimisticChange"/> says: <paramref name="edit"/> checks the stored
    /// row and returns it changed, <paramref name="atCell"/> has the cell apply it, then the row is written; nothing is held
    /// while the cell works. <paramref name="restore"/> puts the cell back to the stored row (null: the change cannot be undone).
    /// </summary>
    private async Task ChangeAsync(GuestRow guest, Func<GuestRow, GuestRow> edit, Func<GuestRow, Task> atCell, Func<GuestRow, Task>? restore)
    {
        var written = await OptimisticChange.RunAsync(guest, () => guests.FindAsync(guest.Id), async row =>
        {
            var changed = edit(row);
            await atCell(changed);
            return await guests.UpdateSettingsAsync(changed);
        }, restore ?? (_ => Task.CompletedTask), $"guest '{guest.Name}'");
        written.OrFail(missing: $"guest '{guest.Name}' not found", exists: "another guest of the pool already has that name");
    }

    private static void RequireStopped(GuestRow guest, string why)
    {
        GuestLifecycle.RequireCreated(guest);
        if (guest.Running)
            throw Fail.Precondition(why);
    }

    private static void RefuseUnchanged(bool same, string message)
    {
        if (same)
            throw Fail.Precondition(message);
    }
}
