using Nano.Contracts.Cell.V1;
using Nano.Libvirt;
using DomainState = Nano.Contracts.Cell.V1.DomainState;

namespace Nano.Cell.Instances;

/// <summary>An instance leaving for another cell: its files pushed to the server, then released here.</summary>
public sealed class InstanceDepartures(InstanceHost host)
{
    /// <summary>
    /// Pushes a stopped guest's files to the server, one per ticket in order (a migration's first half); or only its
    /// cloud-init seed, also while it runs (a live migration copies the volumes itself).
    /// </summary>
    public async Task<InstanceState> ExportVolumesAsync(ExportVolumes export, Action<int> progress, CancellationToken cancellationToken)
    {
        if (host.Hypervisor.Find(export.GuestId) is not { } found)
            throw new InvalidOperationException($"guest {export.GuestId} has no domain on this cell");
        if (found.State == DomainState.Running && !export.SeedOnly)
            throw new InvalidOperationException($"guest {export.GuestId} is running: its volumes are exported only while it is stopped");
        var files = export.SeedOnly ? [.. host.SeedOf(export.GuestId) is { } seed ? [seed] : Array.Empty<string>()] : host.Files(export.GuestId);
        if (files.Count > export.Tickets.Count)
            throw new ArgumentException($"guest {export.GuestId} has {files.Count} files but the server sent {export.Tickets.Count} tickets");
        var total = Math.Max(1, files.Sum(f => new FileInfo(f).Length));
        long done = 0;
        for (var i = 0; i < files.Count; i++)
        {
            var before = done;
            await host.Server.PushAsync(export.Tickets[i], files[i], sent => progress((int)((before + sent) * 100 / total)), cancellationToken);
            done += new FileInfo(files[i]).Length;
        }
        var state = host.State(export.GuestId);
        state.Exported.Add(files.Select(f => InstanceFiles.SuffixOf(f, export.GuestId)));
        return state;
    }

    /// <summary>
    /// Lets a guest go to another cell: its domain and firewall are forgotten if this cell owns them (cells
    /// may share one libvirtd, where the guest's new domain has the same name), its files deleted on request.
    /// </summary>
    public InstanceState Release(ReleaseInstance release)
    {
        var guestId = release.GuestId;
        if (host.Hypervisor.OwnerOf(guestId)?.Cell == host.CellName)
        {
            if (host.Hypervisor.Find(guestId) is { State: DomainState.Running })
                throw new InvalidOperationException($"guest {guestId} is running");
            host.Hypervisor.Undefine(guestId);
            if (host.Hypervisor.SupportsFirewalls)
                host.Hypervisor.RemoveFirewall(InstanceFirewalls.Name(guestId));
        }
        else if (host.Hypervisor.Find(guestId) is null && host.Hypervisor.SupportsFirewalls)
            host.Hypervisor.RemoveFirewall(InstanceFirewalls.Name(guestId)); // the domain left live: its firewall stayed behind
        if (release.DeleteFiles)
        {
            foreach (var file in InstanceFiles.In(host.Storage.CurrentPath, guestId))
                File.Delete(file);
            host.SweepImages();
        }
        return new InstanceState { GuestId = guestId, State = DomainState.Unspecified };
    }
}
