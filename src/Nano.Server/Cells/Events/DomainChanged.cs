using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A guest's domain changed on its cell (started, stopped, crashed, ...): the guest's running flag follows, and status
/// watchers are told. The gateway applies a cell's domain events in order, beside its stream.
/// </summary>
public sealed class DomainChanged(GuestRepository guests, CellStatusFeed feed, ILogger<DomainChanged> logger)
{
    public async Task HandleAsync(string cell, DomainEvent change)
    {
        if (!Guid.TryParse(change.GuestId, out var id))
            return;
        bool? running = change.Kind switch
        {
            DomainEventKind.Started or DomainEventKind.Resumed => true,
            DomainEventKind.Stopped or DomainEventKind.Crashed or DomainEventKind.Paused or DomainEventKind.Deleted => false,
            _ => null,
        };
        if (running is { } value && !await guests.SetRunningAsync(cell, id, value))
            logger.LogWarning("Cell {Cell} reported {Kind} for guest {Guest}, which it does not host", cell, change.Kind, id);
        feed.Publish(cell);
    }
}
