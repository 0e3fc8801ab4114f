using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Domain;

namespace Nano.Server.Cells;

/// <summary>What a guest's cell says of its domain after a command: running or not, its console, its CPU definition.</summary>
public sealed record GuestDomain(bool Running, string DisplayAddress, string Cpu)
{
    internal static GuestDomain Of(InstanceState? state) =>
        new(state?.State == DomainState.Running, state?.DisplayAddress ?? "", state?.Cpu ?? "");
}

/// <summary>
/// The commands the server sends a guest's own cell, one typed method each: the cell must be connected (else
/// UNAVAILABLE), the message is built here, the call waits for the answer (a refusal is FAILED_PRECONDITION with the
/// cell's reason) and what the answer says of the domain comes back as a <see cref="GuestDomain"/>. The mappings from
/// server rows to the cell protocol live here too.
/// </summary>
public sealed class CellCommands(CellGateway gateway)
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
        OnGuestCellAsync(guest, new Command { RedefineInstance = new RedefineInstance { Settings = GuestSpec.From(guest) } }, ct);

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
        if (guest.Cell is null || !gateway.IsConnected(guest.Cell))
            throw PoolMembership.Unreachable(guest.Cell ?? "(none)");
        return GuestDomain.Of((await gateway.RunAsync(guest.Cell, command, ct, progress)).Instance);
    }
}
