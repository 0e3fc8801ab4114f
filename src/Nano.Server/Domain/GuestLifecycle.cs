using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>Starting, stopping and deleting created guests on their cells (api-decisions.md 4.5).</summary>
public sealed class GuestLifecycle(GuestRepository guests, CellCommands commands, PoolCpu poolCpu)
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
        var state = await commands.StartAsync(guest, await poolCpu.ForAsync(guest.Pool), media, cancellationToken);
        await guests.SetDisplayAsync(guest.Id, state.Running, state.DisplayAddress, state.Cpu);
        if (media is not null && state.Running)
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
        await commands.InsertMediaAsync(guest, media, cancellationToken);
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
        await commands.EjectMediaAsync(guest, cancellationToken);
        await guests.SetMediaAsync(guest.Id, null);
    }

    /// <summary>ACPI shutdown returns at once (running follows the cell's event); force powers off; reboot and reset keep it running.</summary>
    public async Task StopAsync(GuestRow guest, bool reboot, bool force, CancellationToken cancellationToken)
    {
        RequireCreated(guest);
        if (!guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is not running");
        var state = await commands.StopAsync(guest, reboot, force, cancellationToken);
        await guests.SetDisplayAsync(guest.Id, state.Running, state.Running ? state.DisplayAddress : "");
    }

    /// <summary>A stopped guest: its cell removes the domain and disks, then the row and address go.</summary>
    public async Task DeleteAsync(GuestRow guest, CancellationToken cancellationToken)
    {
        RequireCreated(guest);
        if (guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is running: stop it first");
        await commands.DeleteAsync(guest, cancellationToken);
        await guests.DeleteAsync(guest.Id);
    }

    public static void RequireCreated(GuestRow guest)
    {
        if (!guest.Created)
            throw Fail.Precondition($"guest '{guest.Name}' is still being created");
        if (guest.Migrating)
            throw Fail.Precondition($"guest '{guest.Name}' is being migrated");
    }
}
