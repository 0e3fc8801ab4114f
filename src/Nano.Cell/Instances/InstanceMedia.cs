using Nano.Contracts.Cell.V1;
using Nano.Libvirt;
using DomainState = Nano.Contracts.Cell.V1.DomainState;

namespace Nano.Cell.Instances;

/// <summary>The media drive of a running instance.</summary>
public sealed class InstanceMedia(InstanceHost host)
{
    /// <summary>Puts an ISO into (or, null, ejects it from) the media drive of a running guest.</summary>
    public async Task<InstanceState> ChangeMediaAsync(string guestId, CachedImage? media, Action<int> progress, CancellationToken cancellationToken)
    {
        if (host.Hypervisor.Find(guestId) is not { State: DomainState.Running })
            throw new InvalidOperationException($"guest {guestId} is not running");
        if (media is null)
        {
            host.Hypervisor.ChangeMedia(guestId, null);
            host.SweepImages();
        }
        else
            await host.WithIsoAsync(media, progress, iso => host.Hypervisor.ChangeMedia(guestId, iso), cancellationToken);
        return host.State(guestId);
    }
}
