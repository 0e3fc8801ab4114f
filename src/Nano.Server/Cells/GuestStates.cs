using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Cells;

/// <summary>
/// What cells say about their guests' domains, in one place: a joining cell's report reconciles the
/// rows of its guests; lifecycle events move the running flag.
/// </summary>
public sealed class GuestStates(GuestRepository guests, ILogger<GuestStates> logger)
{
    public async Task CellJoinedAsync(string cell, IEnumerable<DomainReport> domains)
    {
        var reported = new Dictionary<Guid, bool>();
        foreach (var domain in domains)
        {
            if (Guid.TryParse(domain.GuestId, out var id))
                reported[id] = domain.State == DomainState.Running;
        }
        // Domains without a row are removed by CellJoined once the stream is up.
        await guests.ReconcileAsync(cell, reported);
    }

    public Task MetricsAsync(string cell, IEnumerable<GuestMetrics> metrics) =>
        guests.SaveMetricsAsync(cell, metrics
            .Where(m => Guid.TryParse(m.GuestId, out _))
            .Select(m => (Guid.Parse(m.GuestId), Math.Clamp(m.CpuUsage, 0, 100), m.Memory, m.BytesRead, m.BytesWritten, m.BytesReceived, m.BytesSent))
            .ToList());

    public async Task DomainChangedAsync(string cell, DomainEvent change)
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
    }
}
