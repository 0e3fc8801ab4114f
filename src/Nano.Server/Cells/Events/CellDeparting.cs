using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>A cell stops in order (its goodbye): its guests are lost until it returns, and are not failed over.</summary>
public sealed class CellDeparting(CellRepository cells, ILogger<CellDeparting> logger)
{
    public async Task HandleAsync(string cell, string reason)
    {
        logger.LogInformation("Cell {Cell} stops in order ({Reason}): its guests are lost until it returns, not failed over", cell, reason);
        await cells.MarkDepartedAsync(cell);
    }
}
