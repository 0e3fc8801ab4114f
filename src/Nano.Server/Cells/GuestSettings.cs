using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Domain;

namespace Nano.Server.Cells;

/// <summary>What a cell needs to define an existing guest elsewhere (a migration, a failover).</summary>
public sealed class GuestSettings(SecurityPolicyRepository policies, ImageRepository images, PoolCpu poolCpu)
{
    /// <summary>
    /// The guest's settings in its current generation, its firewall, the image its system volume overlays, and its pool's CPU
    /// definition (which every cell of the pool starts; a running guest moving live keeps its own).
    /// </summary>
    public async Task<CreateInstance> ForAsync(GuestRow guest)
    {
        var settings = GuestSpec.From(guest);
        settings.Cpu = await poolCpu.ForAsync(guest.Pool);
        settings.SecurityPolicy = CellCommands.Firewall(await policies.GuestPolicyAsync(guest.Id));
        if (guest.SystemImage is { } imageId && await images.FindAnyAsync(imageId) is { } image)
            settings.SystemImage = CellCommands.Cached(image);
        return settings;
    }
}
