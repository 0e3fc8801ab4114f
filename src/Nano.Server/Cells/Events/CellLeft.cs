using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell's stream ended: the cell is disconnected, unless a newer stream of it joined meanwhile, and status watchers
/// are told. A newer stream enters the gateway before it registers, so whether a newer stream is connected is
/// asked only once the disconnection is written: a stream that joined before that is marked connected again, one that
/// joins after it registers itself.
/// </summary>
public sealed class CellLeft(CellRepository cells, CellStatusFeed feed, ILogger<CellLeft> logger)
{
    public async Task HandleAsync(string cell, Func<bool> newerStreamConnected)
    {
        await cells.DisconnectAsync(cell);
        if (newerStreamConnected())
            await cells.MarkConnectedAsync(cell);
        feed.Publish(cell);
        logger.LogInformation("Cell {Cell} left", cell);
    }
}
