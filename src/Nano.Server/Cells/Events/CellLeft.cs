using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell's stream ended: the cell is disconnected, unless a newer stream of it registered meanwhile (its row then names
/// that stream, and stays connected throughout), and status watchers are told.
/// </summary>
public sealed class CellLeft(CellRepository cells, CellStatusFeed feed, ILogger<CellLeft> logger)
{
    public async Task HandleAsync(string cell, Guid stream)
    {
        await cells.DisconnectAsync(cell, stream);
        feed.Publish(cell);
        logger.LogInformation("Cell {Cell} left", cell);
    }
}
