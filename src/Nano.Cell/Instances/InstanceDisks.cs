using Nano.Contracts.Cell.V1;
using Nano.Libvirt;

namespace Nano.Cell.Instances;

/// <summary>The disks of a stopped instance: grown or compacted, the system volume reset, or flattened and sent to the server as a disk image.</summary>
public sealed class InstanceDisks(InstanceHost host)
{
    /// <summary>Grows (size &gt; 0) or compacts (size 0) volume <paramref name="disk"/> of a stopped guest.</summary>
    public async Task<InstanceState> ChangeDiskAsync(ChangeDisk change, CancellationToken cancellationToken)
    {
        var path = InstanceFiles.Volume(host.Storage.CurrentPath, change.GuestId, change.Disk);
        host.RequireStopped(change.GuestId, "its disks change");
        if (!File.Exists(path))
            throw new InvalidOperationException($"guest {change.GuestId} has no disk {change.Disk}");
        if (change.Size > 0)
            await VolumeTool.ResizeAsync(path, change.Size, cancellationToken);
        else
            await VolumeTool.CompactAsync(path, cancellationToken);
        return host.State(change.GuestId);
    }

    /// <summary>
    /// A new system volume in place of the old one: blank (a fresh install follows), or an overlay of a cached
    /// disk image. The old one is kept until the new one exists; cached images nothing uses any more go.
    /// </summary>
    public async Task<InstanceState> ResetSystemAsync(ResetSystem reset, Action<int> progress, CancellationToken cancellationToken)
    {
        host.RequireStopped(reset.GuestId, "its system is reset");
        if (reset.Size <= 0)
            throw new ArgumentException("the system volume size must be positive");
        var path = InstanceFiles.Volume(host.Storage.CurrentPath, reset.GuestId, 0);
        var fresh = path + ".new";
        File.Delete(fresh);
        if (reset.Image is null)
        {
            await VolumeTool.CreateQcow2Async(fresh, reset.Size, cancellationToken);
            File.Move(fresh, path, overwrite: true);
        }
        else
            await host.OverlayAsync(fresh, reset.Image, reset.Size, progress, cancellationToken, then: () =>
            {
                File.Move(fresh, path, overwrite: true);
                return Task.CompletedTask;
            });
        host.SweepImages();
        return host.State(reset.GuestId);
    }

    /// <summary>
    /// Flattens a stopped guest's system volume (and the image under it) into one qcow2 file and pushes it
    /// to the server against <paramref name="export"/>'s ticket: 0-50 % converting, 50-100 % sending.
    /// </summary>
    public async Task<InstanceState> ExportSystemAsync(ExportSystem export, Action<int> progress, CancellationToken cancellationToken)
    {
        host.RequireStopped(export.GuestId, "its system disk is copied");
        var volumes = host.Volumes(export.GuestId);
        if (volumes.Count == 0)
            throw new InvalidOperationException($"guest {export.GuestId} has no system volume");
        var flat = InstanceFiles.Export(host.Storage.CurrentPath, export.GuestId);
        try
        {
            File.Delete(flat);
            await VolumeTool.FlattenAsync(volumes[0], flat, percent => progress(percent / 2), cancellationToken);
            var size = Math.Max(1, new FileInfo(flat).Length);
            await host.Server.PushAsync(export.Ticket, flat, sent => progress(50 + (int)(sent * 50 / size)), cancellationToken);
        }
        finally
        {
            File.Delete(flat);
        }
        return host.State(export.GuestId, volumes);
    }
}
