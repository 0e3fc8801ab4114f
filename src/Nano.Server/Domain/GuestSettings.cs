using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Domain;

/// <summary>What a cell needs to define an existing guest elsewhere (a migration, a failover).</summary>
public sealed class GuestSettings(SecurityPolicyRepository policies, ImageRepository images)
{
    /// <summary>The guest's settings in its current generation, its firewall and the image its system volume overlays.</summary>
    public async Task<CreateInstance> ForAsync(GuestRow guest)
    {
        var settings = GuestSpec.From(guest);
        settings.SecurityPolicy = SecurityPolicies.ToCell(await policies.GuestPolicyAsync(guest.Id));
        if (guest.SystemImage is { } imageId && await images.FindAnyAsync(imageId) is { } image)
            settings.SystemImage = ImageCatalog.Cached(image);
        return settings;
    }
}
