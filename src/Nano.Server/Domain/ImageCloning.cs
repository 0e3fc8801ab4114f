using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Images;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// #78 with <c>guest</c>: a disk image cloned from a stopped guest's system disk. An operation asks the
/// guest's cell to flatten the disk (qemu-img convert) and push it into the store; progress follows
/// the cell's reports. The record exists (created=false, locked) from the start and is removed if the
/// clone fails.
/// </summary>
public sealed class ImageCloning(
    ImageRepository images, ImageStore store, ImageExports exports, GuestAccess access, CellCommands commands, SnapshotRepository snapshots,
    Operations operations)
{
    public const string Kind = OperationKinds.CloneDiskImage;

    public async Task<Guid> StartAsync(SessionContext session, ImageFields fields, string guestId)
    {
        var guest = await access.FindAsync(session, guestId);
        GuestLifecycle.RequireCreated(guest);
        if (guest.Running)
            throw Fail.Precondition($"guest '{guest.Name}' is running: a disk image is cloned from a stopped guest");
        if ((await snapshots.ListAsync(guest.Id)).Count > 0)
            throw Fail.Precondition($"guest '{guest.Name}' has snapshots: a disk image cannot be built from it");
        var record = ImageCatalog.Complete(fields, session);
        var id = Guid.NewGuid();
        await operations.StartAsync(Kind, id.ToString(), session.User, async (progress, cancel) =>
        {
            try
            {
                using var ticket = exports.Open();
                await progress.ReportAsync("copying the system disk", 1);
                await commands.ExportSystemAsync(guest, ticket.Id, percent => progress.ReportAsync("copying the system disk", Math.Clamp(percent, 1, 99)), cancel);
                var staged = ticket.Take() ?? throw Fail.Precondition($"guest '{guest.Name}''s cell finished without sending the disk");
                try
                {
                    ImageCatalog.RequireStandalone(ImageKinds.Disk, staged.TempPath, $"the disk cell '{guest.Cell}' sent");
                }
                catch
                {
                    ImageStore.Discard(staged);
                    throw;
                }
                store.Commit(staged, ImageKinds.Disk, id);
                await images.SetContentAsync(id, progress.Id, staged.Size, staged.Sha256, staged.Sha1);
                await progress.ReportAsync("created", 100);
            }
            catch
            {
                store.Delete(ImageKinds.Disk, id);
                await images.DeleteUnfinishedAsync(id);
                throw;
            }
        }, prepare: operation => images.InsertAsync(ImageKinds.Disk, id, record, operation)
            .OrFail(exists: ImageCatalog.Duplicate(ImageKinds.Disk, record)));
        return id;
    }
}
