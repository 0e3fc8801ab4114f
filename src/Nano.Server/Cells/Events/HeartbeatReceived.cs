using Microsoft.Extensions.Options;
using Nano.Server.Data;
using Nano.Server.Hosting;

namespace Nano.Server.Cells.Events;

/// <summary>A cell's heartbeat: its last_seen is written at most three times per liveness timeout, not on every heartbeat.</summary>
public sealed class HeartbeatReceived(CellRepository cells, IOptions<NanoOptions> options)
{
    public async Task HandleAsync(CellConnection connection)
    {
        if (DateTime.UtcNow - connection.LastTouch < TimeSpan.FromSeconds(options.Value.CellLivenessSeconds / 3.0))
            return;
        connection.LastTouch = DateTime.UtcNow;
        await cells.TouchAsync(connection.Cell);
    }
}
