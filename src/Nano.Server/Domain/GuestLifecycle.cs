using Nano.Contracts.Cell.V1;
using Nano.Server.Cells;
using Nano.Server.Data;

namespace Nano.Server.Domain;

/// <summary>Starting, stopping and deleting created guests on their cells (ROUTES.md 4.5).</summary>
public sealed class GuestLifecycle(GuestRepository guests, CellGateway gateway, PoolCpu poolCpu)
{
    /// <summary>
    /// Starts a stopped guest with its pool's CPU definition as of now (it keeps that one until it stops); with
    /// <paramref name="media"/> it boots that ISO (its cell fetches it first, once).
    /// </summary>
    public async Task StartAsync(GuestRow guest, CancellationToken cancellationToken, ImageRow? media = null)
    {
        RequireCreated(guest);
        if (guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is already running");
        var start = new StartInstance
        {
            GuestId = guest.Id.ToString(), Generation = guest.Generation, Media = media is null ? null : ImageCatalog.Cached(media), Cpu = await poolCpu.ForAsync(guest.Pool),
        };
        var state = await SendAsync(guest, new Command { StartInstance = start }, cancellationToken, media is null ? null : CellGateway.LongWork);
        await guests.SetDisplayAsync(guest.Id, state.State == DomainState.Running, state.DisplayAddress, state.Cpu);
        if (media is not null && state.State == DomainState.Running)
            await guests.SetMediaAsync(guest.Id, media.Id);
    }

    /// <summary>#60: puts a media image into a running guest's empty CD-ROM drive (the live domain).</summary>
    public async Task InsertMediaAsync(GuestRow guest, ImageRow media, CancellationToken cancellationToken)
    {
        RequireCreated(guest);
        if (!guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is not running: media are inserted into running guests");
        if (guest.MediaSource is not null)
            throw Fail.Precondition($"guest '{guest.Name}' already has media {guest.MediaSource} inserted: eject it first");
        await SendAsync(guest, new Command { InsertMedia = new InsertMedia { GuestId = guest.Id.ToString(), Image = ImageCatalog.Cached(media) } },
            cancellationToken, CellGateway.LongWork);
        await guests.SetMediaAsync(guest.Id, media.Id);
    }

    /// <summary>#61: empties a running guest's CD-ROM drive.</summary>
    public async Task EjectMediaAsync(GuestRow guest, CancellationToken cancellationToken)
    {
        RequireCreated(guest);
        if (!guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is not running");
        if (guest.MediaSource is null)
            throw Fail.Precondition($"guest '{guest.Name}' has no media inserted");
        await SendAsync(guest, new Command { EjectMedia = new EjectMedia { GuestId = guest.Id.ToString() } }, cancellationToken);
        await guests.SetMediaAsync(guest.Id, null);
    }

    /// <summary>ACPI shutdown returns at once (running follows the cell's event); force powers off; reboot and reset keep it running.</summary>
    public async Task StopAsync(GuestRow guest, bool reboot, bool force, CancellationToken cancellationToken)
    {
        RequireCreated(guest);
        if (!guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is not running");
        var state = await SendAsync(guest, new Command { StopInstance = new StopInstance { GuestId = guest.Id.ToString(), Reboot = reboot, Force = force } }, cancellationToken);
        await guests.SetDisplayAsync(guest.Id, state.State == DomainState.Running, state.State == DomainState.Running ? state.DisplayAddress : "");
    }

    /// <summary>A stopped guest: its cell removes the domain and disks, then the row and address go.</summary>
    public async Task DeleteAsync(GuestRow guest, CancellationToken cancellationToken)
    {
        RequireCreated(guest);
        if (guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is running: stop it first");
        await SendAsync(guest, new Command { DeleteInstance = new DeleteInstance { GuestId = guest.Id.ToString() } }, cancellationToken);
        await guests.DeleteAsync(guest.Id);
    }

    /// <summary>Sends a command to the guest's cell; an offline cell is UNAVAILABLE, a refusal FAILED_PRECONDITION.</summary>
    public async Task<InstanceState> SendAsync(GuestRow guest, Command command, CancellationToken cancellationToken, Func<int, Task>? progress = null)
    {
        if (guest.Cell is null || !gateway.IsConnected(guest.Cell))
            throw PoolMembership.Unreachable(guest.Cell ?? "(none)");
        var result = await gateway.RunAsync(guest.Cell, command, cancellationToken, progress);
        return result.Instance ?? new InstanceState { GuestId = guest.Id.ToString() };
    }

    public static void RequireCreated(GuestRow guest)
    {
        if (!guest.Created)
            throw Fail.Precondition($"guest '{guest.Name}' is still being created");
        if (guest.Migrating)
            throw Fail.Precondition($"guest '{guest.Name}' is being migrated");
    }
}
