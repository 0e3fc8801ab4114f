using Grpc.Core;
using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Cells;

/// <summary>What a guest's cell says of its domain after a command: running or not, its console, its CPU definition.</summary>
public sealed record GuestDomain(bool Running, string DisplayAddress, string Cpu)
{
    internal static GuestDomain Of(InstanceState? state) =>
        new(state?.State == DomainState.Running, state?.DisplayAddress ?? "", state?.Cpu ?? "");
}

/// <summary>What a cell has of a guest (<see cref="CellCommands.InspectAsync"/>): a domain of its own for it or not, and that domain's state and generation.</summary>
public sealed record GuestPresence(bool Defined, long Generation, GuestDomain Domain);

/// <summary>What a new guest's cloud-init seed says.</summary>
public sealed record GuestSeed(
    string AdminName, string AdminSecret, string Hostname, bool RootEnabled, string DataPath, string Address, string Gateway, IReadOnlyList<string> Dns);

/// <summary>One of a guest's files staged on the server on its way to another cell, under the name its source cell gave it.</summary>
public sealed record StagedVolume(string Ticket, string Suffix, string Sha256, long Size);

/// <summary>Where a running guest's domain is when it moves live: the source cell's libvirt URI and name; local storage copies its volumes.</summary>
public sealed record LiveOrigin(string Uri, string Cell, bool CopyStorage);

/// <summary>
/// Every command the server sends a cell, one typed method each. The message is built here and the call waits for the
/// answer; a refusal is FAILED_PRECONDITION with the cell's reason. Commands for a guest's own cell first check that the
/// cell is connected (else UNAVAILABLE, "offline"); commands for a cell chosen by the caller (creation, moves, storage)
/// leave that to the gateway ("not connected"). What an answer says of a domain comes back as a <see cref="GuestDomain"/>;
/// what it says of a cell's storage is recorded here. The mappings from server rows to the cell protocol live here too.
/// </summary>
public sealed class CellCommands(CellGateway gateway, GuestSettings settings, CellRepository cells)
{
    /// <summary>Starts the guest with CPU definition <paramref name="cpu"/> (""; the domain's), booting <paramref name="media"/> this time if given.</summary>
    public Task<GuestDomain> StartAsync(GuestRow guest, string cpu, ImageRow? media, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command
        {
            StartInstance = new StartInstance { GuestId = Id(guest), Generation = guest.Generation, Media = media is null ? null : Cached(media), Cpu = cpu },
        }, ct, media is null ? null : CellGateway.LongWork);

    /// <summary>ACPI shutdown; <paramref name="force"/>: power off; <paramref name="reboot"/>: reboot (with force: reset).</summary>
    public Task<GuestDomain> StopAsync(GuestRow guest, bool reboot, bool force, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { StopInstance = new StopInstance { GuestId = Id(guest), Reboot = reboot, Force = force } }, ct);

    /// <summary>Undefines the guest's domain and deletes its files.</summary>
    public Task DeleteAsync(GuestRow guest, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { DeleteInstance = new DeleteInstance { GuestId = Id(guest) } }, ct);

    /// <summary>Defines the domain again from the (changed) row; running guests pick it up at their next start.</summary>
    public Task RedefineAsync(GuestRow guest, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { RedefineInstance = new RedefineInstance { Settings = GuestSettings.Of(guest) } }, ct);

    /// <summary>Grows volume <paramref name="disk"/> (0 system, 1.. data) to <paramref name="size"/> bytes.</summary>
    public Task ResizeDiskAsync(GuestRow guest, int disk, long size, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { ChangeDisk = new ChangeDisk { GuestId = Id(guest), Disk = disk, Size = size } }, ct);

    /// <summary>Compacts volume <paramref name="disk"/>.</summary>
    public Task CompactDiskAsync(GuestRow guest, int disk, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { ChangeDisk = new ChangeDisk { GuestId = Id(guest), Disk = disk } }, ct);

    /// <summary>Replaces the system volume with a blank one of the same size, or an overlay over <paramref name="image"/> (fetched first, reporting progress).</summary>
    public Task ResetSystemAsync(GuestRow guest, ImageRow? image, Func<int, Task>? progress, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command
        {
            ResetSystem = new ResetSystem { GuestId = Id(guest), Size = guest.Disks[0], Image = image is null ? null : Cached(image) },
        }, ct, progress);

    /// <summary>Sets an account's password through the guest agent (libvirt may wait for the agent longer than a plain command's timeout).</summary>
    public Task SetPasswordAsync(GuestRow guest, string user, string password, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { SetGuestPassword = new SetGuestPassword { GuestId = Id(guest), User = user, Password = password } }, ct,
            CellGateway.LongWork);

    /// <summary>Puts a media image into the running guest's CD-ROM drive (the cell fetches it first, once).</summary>
    public Task InsertMediaAsync(GuestRow guest, ImageRow media, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { InsertMedia = new InsertMedia { GuestId = Id(guest), Image = Cached(media) } }, ct, CellGateway.LongWork);

    /// <summary>Empties the running guest's CD-ROM drive.</summary>
    public Task EjectMediaAsync(GuestRow guest, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { EjectMedia = new EjectMedia { GuestId = Id(guest) } }, ct);

    public Task CreateSnapshotAsync(GuestRow guest, string name, string description, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { CreateSnapshot = new CreateSnapshot { GuestId = Id(guest), Name = name, Description = description } }, ct);

    public Task RevertSnapshotAsync(GuestRow guest, string name, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { RevertSnapshot = new RevertSnapshot { GuestId = Id(guest), Name = name } }, ct);

    public Task DeleteSnapshotAsync(GuestRow guest, string name, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { DeleteSnapshot = new DeleteSnapshot { GuestId = Id(guest), Name = name } }, ct);

    /// <summary>Has the cell flatten the system volume and push it under export ticket <paramref name="ticket"/>, reporting progress.</summary>
    public Task ExportSystemAsync(GuestRow guest, string ticket, Func<int, Task> progress, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { ExportSystem = new ExportSystem { GuestId = Id(guest), Ticket = ticket } }, ct, progress);

    /// <summary>Replaces the guest's firewall (its nwfilter), running or not.</summary>
    public Task ApplyFirewallAsync(GuestRow guest, SecurityPolicy policy, CancellationToken ct) =>
        OnGuestCellAsync(guest, new Command { ApplySecurityPolicy = new ApplySecurityPolicy { GuestId = Id(guest), Policy = Firewall(policy) } }, ct);

    /// <summary>
    /// Creates the guest's volumes and domain on <paramref name="cell"/> (the system volume over <paramref name="image"/> if
    /// given, fetched first while reporting progress), with its firewall, CPU definition and cloud-init seed.
    /// </summary>
    public async Task<GuestDomain> CreateAsync(string cell, GuestRow guest, string cpu, ImageRow? image, SecurityPolicy policy, GuestSeed? seed,
        Func<int, Task>? progress, CancellationToken ct)
    {
        var create = GuestSettings.Of(guest);
        create.SystemImage = image is null ? null : Cached(image);
        create.SecurityPolicy = Firewall(policy);
        create.Cpu = cpu;
        if (seed is not null)
        {
            create.CloudInit = new CloudInitSeed
            {
                AdminName = seed.AdminName, AdminSecret = seed.AdminSecret, Hostname = seed.Hostname, RootEnabled = seed.RootEnabled,
                DataPath = seed.DataPath, Address = seed.Address, Gateway = seed.Gateway, Dns = { seed.Dns },
            };
        }
        return GuestDomain.Of((await gateway.RunAsync(cell, new Command { CreateInstance = create }, ct, progress)).Instance);
    }

    /// <summary>Starts a guest defined on <paramref name="cell"/> in <paramref name="generation"/> with CPU definition <paramref name="cpu"/>.</summary>
    public async Task<GuestDomain> StartOnAsync(string cell, Guid guest, long generation, string cpu, CancellationToken ct) =>
        GuestDomain.Of((await gateway.RunAsync(cell, new Command
        {
            StartInstance = new StartInstance { GuestId = guest.ToString(), Generation = generation, Cpu = cpu },
        }, ct)).Instance);

    /// <summary>Asks <paramref name="cell"/> to carry <paramref name="guest"/>'s console over the tunnel named <paramref name="tunnel"/> (<see cref="ConsoleTunnels"/>).</summary>
    public Task OpenConsoleAsync(string cell, Guid guest, Guid tunnel, CancellationToken ct) =>
        gateway.RunAsync(cell, new Command { OpenConsole = new OpenConsole { GuestId = guest.ToString(), Tunnel = tunnel.ToString() } }, ct);

    /// <summary>What <paramref name="cell"/> has of <paramref name="guest"/>, once every command sent it earlier for that guest has ended.</summary>
    public async Task<GuestPresence> InspectAsync(string cell, Guid guest, CancellationToken ct)
    {
        var state = (await gateway.RunAsync(cell, new Command { InspectInstance = new InspectInstance { GuestId = guest.ToString() } }, ct)).Instance;
        return new GuestPresence(state?.Defined == true, state?.Generation ?? 0, GuestDomain.Of(state));
    }

    /// <summary>Undoes a creation: the cell forgets the domain and deletes the files; its refusal is not an error here.</summary>
    public Task ForgetAsync(string cell, Guid guest) =>
        gateway.SendAsync(cell, new Command { DeleteInstance = new DeleteInstance { GuestId = guest.ToString() } }, CancellationToken.None);

    /// <summary>
    /// A domain a cell reported when it joined that must go (<see cref="CellJoined"/>): powered off if
    /// <paramref name="running"/>, then deleted with its files (no record), or let go keeping them (a stale copy whose files
    /// may be the guest's on shared storage). Returns the cell's error, "" when it is gone.
    /// </summary>
    public async Task<string> RemoveDomainAsync(string cell, Guid guest, bool running, bool deleteFiles, CancellationToken ct)
    {
        var id = guest.ToString();
        if (running)
            await gateway.SendAsync(cell, new Command { StopInstance = new StopInstance { GuestId = id, Force = true } }, ct);
        var removal = deleteFiles
            ? new Command { DeleteInstance = new DeleteInstance { GuestId = id } }
            : new Command { ReleaseInstance = new ReleaseInstance { GuestId = id, DeleteFiles = false } };
        return (await gateway.SendAsync(cell, removal, ct)).Error;
    }

    /// <summary>
    /// Has <paramref name="cell"/> push the stopped guest's files (or only its seed) to the server under <paramref name="tickets"/>;
    /// returns the name the cell gives the file under each ticket used, in ticket order.
    /// </summary>
    public async Task<IReadOnlyList<string>> ExportVolumesAsync(string cell, GuestRow guest, IReadOnlyList<string> tickets, bool seedOnly, Func<int, Task> progress,
        CancellationToken ct)
    {
        var result = await gateway.RunAsync(cell, new Command { ExportVolumes = new ExportVolumes { GuestId = Id(guest), Tickets = { tickets }, SeedOnly = seedOnly } },
            ct, progress);
        var exported = result.Instance?.Exported ?? [];
        return exported.Count <= tickets.Count ? [.. exported] : throw Fail.Precondition($"cell '{cell}' named {exported.Count} files for {tickets.Count} tickets");
    }

    /// <summary>
    /// Defines the guest on <paramref name="cell"/> in <paramref name="generation"/>, with CPU definition <paramref name="cpu"/> (its
    /// pool's), its firewall and
    /// image: over <paramref name="files"/> staged on the server, over the files the cell sees (shared storage), or moved
    /// live from <paramref name="live"/>. <paramref name="takeOverFrom"/> names a lost cell whose stale copy in the same
    /// libvirtd is powered off first (failover).
    /// </summary>
    public async Task<GuestDomain> ImportAsync(string cell, GuestRow guest, long generation, string cpu, IReadOnlyList<StagedVolume> files,
        string takeOverFrom, LiveOrigin? live, Func<int, Task>? progress, CancellationToken ct)
    {
        var defined = await settings.ForMoveAsync(guest, cpu);
        defined.Generation = generation;
        var import = new ImportInstance
        {
            Settings = defined, TakeOverFrom = takeOverFrom,
            Live = live is null ? null : new LiveSource { Uri = live.Uri, Cell = live.Cell, CopyStorage = live.CopyStorage },
            Files = { files.Select(f => new StagedFile { Ticket = f.Ticket, Suffix = f.Suffix, Sha256 = f.Sha256, Size = f.Size }) },
        };
        return GuestDomain.Of((await gateway.RunAsync(cell, new Command { ImportInstance = import }, ct, progress)).Instance);
    }

    /// <summary>Has <paramref name="cell"/> let the guest go: its domain and firewall, and its files if <paramref name="deleteFiles"/>.</summary>
    public Task ReleaseAsync(string cell, GuestRow guest, bool deleteFiles, CancellationToken ct) =>
        gateway.RunAsync(cell, new Command { ReleaseInstance = new ReleaseInstance { GuestId = Id(guest), DeleteFiles = deleteFiles } }, ct);

    /// <summary>
    /// Has <paramref name="cell"/> use <paramref name="storage"/> (null: local storage) and records the outcome: the
    /// attachment of a storage pool and the folders the cell reports. Returns the cell's error, "" when it attached.
    /// </summary>
    public async Task<string> AttachStorageAsync(string cell, StoragePoolRow? storage, CancellationToken ct)
    {
        var result = await gateway.SendAsync(cell, new Command
        {
            AttachStorage = new AttachStorage { Pool = storage?.Name ?? "", Type = storage?.Type ?? "", Host = storage?.Host ?? "", Target = storage?.Target ?? "" },
        }, ct);
        if (storage is not null)
            await cells.SetAttachmentAsync(cell, storage.Name, result.Error.Length == 0, result.Error);
        await RecordStorageAsync(cell, result);
        return result.Error;
    }

    /// <summary>Has <paramref name="cell"/> stop using storage pool <paramref name="pool"/>; records the folders it reports.</summary>
    public async Task DetachStorageAsync(string cell, string pool, CancellationToken ct) =>
        await RecordStorageAsync(cell, await gateway.SendAsync(cell, new Command { DetachStorage = new DetachStorage { Pool = pool } }, ct));

    /// <summary>Moves a connected cell's local storage to <paramref name="path"/>; records the folders it reports.</summary>
    public async Task ChangeStoragePathAsync(string cell, string path, CancellationToken ct)
    {
        if (!await gateway.IsConnectedAsync(cell))
            throw Unreachable(cell);
        await RecordStorageAsync(cell, await gateway.RunAsync(cell, new Command { ChangeStoragePath = new ChangeStoragePath { Path = path } }, ct));
    }

    private async Task RecordStorageAsync(string cell, CommandResult result)
    {
        if (result.Storage is { } reported)
            await cells.SetStorageAsync(cell, reported.Mode, [.. reported.System], [.. reported.Data]);
    }

    /// <summary>Whether the cell's agent holds a stream, to this replica or to another live one.</summary>
    public Task<bool> IsConnectedAsync(string cell) => gateway.IsConnectedAsync(cell);

    /// <summary>Waits up to <paramref name="patience"/> for <paramref name="cell"/> to be connected; false when it is not by then.</summary>
    public Task<bool> WaitConnectedAsync(string cell, TimeSpan patience, CancellationToken ct) => gateway.WaitConnectedAsync(cell, DateTime.UtcNow + patience, ct);

    /// <summary>Refuses work for a cell that is not alive or whose agent holds no stream to a live replica (UNAVAILABLE).</summary>
    public async Task RequireReachableAsync(CellRow cell)
    {
        if (!cell.Alive || !await gateway.IsConnectedAsync(cell.Name))
            throw Unreachable(cell.Name);
    }

    /// <summary>The answer when a cell cannot be reached: a fault (UNAVAILABLE), not a refusal.</summary>
    public static RpcException Unreachable(string cell) => Fail.Unavailable($"cell '{cell}' is offline");

    /// <summary>An image version as a cell caches it.</summary>
    public static CachedImage Cached(ImageRow image) => new() { Id = image.Id.ToString(), Sha256 = image.Sha256, Size = image.Size };

    /// <summary>A policy as the cell protocol carries it (the NIC number is not part of it: guests have one NIC).</summary>
    public static FirewallPolicy Firewall(SecurityPolicy policy) => new()
    {
        DefaultAction = policy.DefaultAction,
        Rules =
        {
            policy.Rules.Select(r => new FirewallRule
            {
                Action = r.Action, Protocol = r.Protocol, FromAddress = r.FromAddress, ToAddress = r.ToAddress, ToPort = r.ToPort,
            }),
        },
    };

    private static string Id(GuestRow guest) => guest.Id.ToString();

    /// <summary>Sends a command to the guest's cell; an offline cell is UNAVAILABLE, a refusal FAILED_PRECONDITION.</summary>
    private async Task<GuestDomain> OnGuestCellAsync(GuestRow guest, Command command, CancellationToken ct, Func<int, Task>? progress = null)
    {
        if (guest.Cell is null || !await gateway.IsConnectedAsync(guest.Cell))
            throw Unreachable(guest.Cell ?? "(none)");
        return GuestDomain.Of((await gateway.RunAsync(guest.Cell, command, ct, progress)).Instance);
    }
}
