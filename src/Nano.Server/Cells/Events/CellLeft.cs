using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell's stream ended: the cell is disconnected, unless a newer stream of it joined meanwhile (it enters the
/// gateway before it registers), and status watchers are told.
/// </summary>
public sealed class CellLeft(CellRepository cells, CellStatusFeed feed, ILogger<CellLeft> logger)
{
    public async Task HandleAsync(string cell, bool newerStreamConnected)
    {
        await cells.DisconnectAsync(cell);
        if (newerStreamConnected)
            await cells.MarkConnectedAsync(cell);
        feed.Publish(cell);
        logger.LogInformation("Cell {Cell} left", cell);
    }
}
