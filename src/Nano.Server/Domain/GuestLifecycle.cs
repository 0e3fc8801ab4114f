using Nano.Contracts.Cell.V1;
using Nano.Server.Cells;
using Nano.Server.Data;

namespace Nano.Server.Domain;

/// <summary>Starting, stopping and deleting created guests on their cells (ROUTES.md 4.5).</summary>
public sealed class GuestLifecycle(GuestRepository guests, CellGateway gateway)
{
    public async Task StartAsync(GuestRow guest, CancellationToken cancellationToken)
    {
        RequireCreated(guest);
        if (guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is already running");
        var state = await SendAsync(guest, new Command { StartInstance = new StartInstance { GuestId = guest.Id.ToString() } }, cancellationToken);
        await guests.SetDisplayAsync(guest.Id, state.State == DomainState.Running, state.DisplayAddress);
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
    public async Task<InstanceState> SendAsync(GuestRow guest, Command command, CancellationToken cancellationToken)
    {
        if (guest.Cell is null || !gateway.IsConnected(guest.Cell))
            throw PoolMembership.Unreachable(guest.Cell ?? "(none)");
        var result = await gateway.RunAsync(guest.Cell, command, cancellationToken);
        return result.Instance ?? new InstanceState { GuestId = guest.Id.ToString() };
    }

    public static void RequireCreated(GuestRow guest)
    {
        if (!guest.Created)
            throw Fail.Precondition($"guest '{guest.Name}' is still being created");
    }
}
