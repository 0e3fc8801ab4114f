using Nano.Server.Cells;
using Nano.Server.Data;

namespace Nano.Server.Domain;

/// <summary>
/// Changes to a created guest's settings (ROUTES.md 4.5 Modify). Each changes the row, has the cell
/// define the domain again from the changed row, and commits only when the cell did: the domain and
/// the row never disagree. Cores, memory and QoS take effect at the next start.
/// </summary>
public sealed class GuestChanges(GuestRepository guests, CellCommands commands, Operations operations, SnapshotRepository snapshots, ImageCatalog images)
{
    private static readonly string[] Priorities = ["high", "medium", "low"];

    public Task SetCoresAsync(GuestRow guest, int cores, CancellationToken ct)
    {
        if (cores is <= 0 or > GuestRules.MaxCores)
            throw Fail.Invalid($"cores must be between 1 and {GuestRules.MaxCores}");
        RefuseUnchanged(guest.Cores == cores, $"guest '{guest.Name}' already has {cores} cores");
        return RedefineAsync(guest, "cores = @cores", new { cores }, ct);
    }

    public Task SetMemoryAsync(GuestRow guest, long memory, CancellationToken ct)
    {
        if (memory is <= 0 or > GuestRules.MaxMemory)
            throw Fail.Invalid("memory must be a positive number of bytes");
        RefuseUnchanged(guest.Memory == memory, $"guest '{guest.Name}' already has {memory} bytes of memory");
        return RedefineAsync(guest, "memory = @memory", new { memory }, ct);
    }

    public Task SetAutoStartAsync(GuestRow guest, bool enable, CancellationToken ct)
    {
        RefuseUnchanged(guest.AutoStart == enable, $"auto start of guest '{guest.Name}' is already {(enable ? "on" : "off")}");
        return RedefineAsync(guest, "auto_start = @enable", new { enable }, ct);
    }

    public Task SetCpuPriorityAsync(GuestRow guest, string priority, CancellationToken ct)
    {
        if (!Priorities.Contains(priority))
            throw Fail.Invalid($"priority must be high, medium or low, not '{priority}'");
        RefuseUnchanged(guest.CpuPriority == priority, $"guest '{guest.Name}' already has CPU priority {priority}");
        return RedefineAsync(guest, "cpu_priority = @priority", new { priority }, ct);
    }

    /// <summary>Replaces all four disk limits; the guest must be stopped.</summary>
    public Task SetDiskLimitsAsync(GuestRow guest, long readSpeed, long writeSpeed, long readIops, long writeIops, CancellationToken ct)
    {
        if (new[] { readSpeed, writeSpeed, readIops, writeIops }.Any(v => v < 0))
            throw Fail.Invalid("disk limits must not be negative");
        RequireStopped(guest, "disk limits change only while the guest is stopped");
        RefuseUnchanged((guest.ReadSpeed, guest.WriteSpeed, guest.ReadIops, guest.WriteIops) == (readSpeed, writeSpeed, readIops, writeIops),
            $"guest '{guest.Name}' already has these disk limits");
        return RedefineAsync(guest, "read_speed = @readSpeed, write_speed = @writeSpeed, read_iops = @readIops, write_iops = @writeIops",
            new { readSpeed, writeSpeed, readIops, writeIops }, ct);
    }

    /// <summary>Replaces both network limits.</summary>
    public Task SetNetworkLimitsAsync(GuestRow guest, long receiveSpeed, long sendSpeed, CancellationToken ct)
    {
        if (receiveSpeed < 0 || sendSpeed < 0)
            throw Fail.Invalid("network limits must not be negative");
        RefuseUnchanged((guest.ReceiveSpeed, guest.SendSpeed) == (receiveSpeed, sendSpeed), $"guest '{guest.Name}' already has these network limits");
        return RedefineAsync(guest, "receive_speed = @receiveSpeed, send_speed = @sendSpeed", new { receiveSpeed, sendSpeed }, ct);
    }

    /// <summary>A new 12-character console password (B3).</summary>
    public Task ResetMonitorSecretAsync(GuestRow guest, CancellationToken ct) =>
        RedefineAsync(guest, "monitor_secret = @secret", new { secret = Secrets.New(12) }, ct);

    /// <summary>Grows disk <paramref name="disk"/> (0 system, 1.. data) of a stopped guest to <paramref name="size"/> bytes.</summary>
    public Task ResizeDiskAsync(GuestRow guest, int disk, long size, CancellationToken ct)
    {
        if (disk < 0 || disk >= guest.Disks.Length)
            throw Fail.NotFound($"guest '{guest.Name}' has no disk {disk}");
        if (size <= guest.Disks[disk] || size > GuestRules.MaxDisk)
            throw Fail.Invalid($"the new size must be larger than {guest.Disks[disk]} bytes");
        RequireStopped(guest, "disks are resized only while the guest is stopped");
        var disks = guest.Disks.ToArray();
        disks[disk] = size;
        return guests.ChangeAsync(guest.Id, "disks = @disks", new { disks }, changed =>
            commands.ResizeDiskAsync(changed, disk, size, ct));
    }

    /// <summary>Compacts disk <paramref name="disk"/> of a stopped guest; sizes do not change.</summary>
    public async Task ShrinkDiskAsync(GuestRow guest, int disk, CancellationToken ct)
    {
        if (disk < 0 || disk >= guest.Disks.Length)
            throw Fail.NotFound($"guest '{guest.Name}' has no disk {disk}");
        RequireStopped(guest, "disks are compacted only while the guest is stopped");
        await commands.CompactDiskAsync(guest, disk, ct);
    }

    /// <summary>
    /// #44 without an image (disk images are their own area): the system disk becomes blank. The guest
    /// reads as not created (GET answers 201) while the reset_system operation runs; its data disks stay.
    /// </summary>
    public async Task ResetSystemAsync(GuestRow guest, string fromImage, SessionContext session, CancellationToken ct)
    {
        RequireStopped(guest, "the system is reset only while the guest is stopped");
        if ((await snapshots.ListAsync(guest.Id)).Count > 0)
            throw Fail.Precondition($"guest '{guest.Name}' has snapshots: delete them before resetting its system");
        var image = string.IsNullOrEmpty(fromImage) ? null : await images.FindUsableAsync(session, Images.ImageKinds.Disk, fromImage);
        await operations.RunAsync(OperationKinds.ResetSystem, guest.Id.ToString(), session.User, async (progress, cancel) =>
        {
            await guests.MarkRebuildingAsync(guest.Id, progress.Id);
            try
            {
                await progress.ReportAsync(image is null ? "writing a blank system disk" : "building the system disk over the image", 10);
                await commands.ResetSystemAsync(guest, image,
                    image is null ? null : progress.Within("fetching the disk image", 10, 90), cancel);
                await guests.SetSystemImageAsync(guest.Id, image?.Id);
            }
            finally
            {
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
        // libvirt may wait for the guest agent (its guest-sync alone takes up to 5 s), longer than a plain command's timeout.
        await guests.ChangeAsync(guest.Id, "admin_name = @user, admin_secret = @password", new { user, password }, _ =>
            commands.SetPasswordAsync(guest, user, password, ct));
        return (user, password);
    }

    /// <summary>Renames a stopped guest; stored exactly as given (upstream adds no group prefix on rename).</summary>
    public async Task RenameAsync(GuestRow guest, string name, CancellationToken ct)
    {
        name = InputRules.Name("guest", name);
        RequireStopped(guest, "a guest is renamed only while it is stopped");
        RefuseUnchanged(guest.Name == name, $"guest is already named '{name}'");
        await guests.ChangeAsync(guest.Id, "name = @name", new { name }, _ => Task.CompletedTask);
    }

    private Task RedefineAsync(GuestRow guest, string assignments, object args, CancellationToken ct)
    {
        GuestLifecycle.RequireCreated(guest);
        return guests.ChangeAsync(guest.Id, assignments, args, changed =>
            commands.RedefineAsync(changed, ct));
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
