using System.Text.RegularExpressions;
using Nano.Images;
using Nano.Server.Data;
using Nano.Server.Images;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Media and disk images (api-decisions.md 4.7): records, who sees them, and writing their content. A write
/// holds the image's lock, goes to a temporary file and replaces the content only when it is complete
/// (and matches the client's checksum); anything else leaves the image as it was.
/// </summary>
public sealed partial class ImageCatalog(ImageRepository images, UserGroupRepository groups, ImageStore store, ILogger<ImageCatalog> logger)
{
    public const int MaxTags = 32;

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex NamePattern();

    /// <summary>The menu a session needs to change images of a kind.</summary>
    public static string MenuOf(string kind) => kind == ImageKinds.Media ? "media" : "image";

    public static string Name(string? value) =>
        value is not null && NamePattern().IsMatch(value) && value != "." && value != ".."
            ? value
            : throw Fail.Invalid($"invalid image name '{value}': 1 to 64 letters, digits, '_', '.' or '-'");

    /// <summary>Validated fields; empty ones stay null (a modification leaves them unchanged).</summary>
    public static ImageFields Fields(string? name, string? owner, string? group, string? description, IEnumerable<string> tags)
    {
        var tagList = tags.Where(t => t.Length > 0).Distinct().ToArray();
        if (tagList.Length > MaxTags || tagList.Any(t => t.Length > 64))
            throw Fail.Invalid($"at most {MaxTags} tags of at most 64 characters");
        return new ImageFields(
            string.IsNullOrEmpty(name) ? null : Name(name),
            InputRules.OptionalName("owner", owner),
            InputRules.OptionalName("group", group),
            string.IsNullOrEmpty(description) ? null : IdentityRules.Text("description", description, 1024),
            tagList.Length == 0 ? null : tagList);
    }

    public async Task<Guid> CreateAsync(string kind, SessionContext session, ImageFields fields, Guid? operation = null)
    {
        var id = Guid.NewGuid();
        var complete = Complete(fields, session);
        await images.InsertAsync(kind, id, complete, operation).OrFail(exists: Duplicate(kind, complete));
        return id;
    }

    /// <summary>
    /// Refuses a disk image file that is not a standalone qcow2 (INVALID_ARGUMENT): one naming a backing or external data
    /// file would hand whatever host file it names to guests cloned from it. Media are read as raw ISO data, never probed.
    /// </summary>
    public static void RequireStandalone(string kind, string path, string what)
    {
        if (kind == ImageKinds.Disk && Qcow2Header.Refusal(path) is { } why)
            throw Fail.Invalid($"{what} is no disk image: a disk image must be a standalone qcow2 file, and {why}");
    }

    /// <summary>The failure of a new image whose name its group already has.</summary>
    public static string Duplicate(string kind, ImageFields fields) => $"group '{fields.GroupName}' already has a {kind} image named '{fields.Name}'";

    /// <summary>An image being written refuses changes and reads until the write is done.</summary>
    public static string Busy(string kind, Guid id) => $"{kind} image {id} is being written: try again when it is done";

    /// <summary>
    /// A new record's fields: name required, owner and group default to the session's; only a user administrator names
    /// another user or group.
    /// </summary>
    public static ImageFields Complete(ImageFields fields, SessionContext session)
    {
        AccessRules.RequireOwnName(session, "an image", fields.Owner, fields.GroupName);
        return fields with
        {
            Name = fields.Name ?? throw Fail.Invalid("image name is required"),
            Owner = fields.Owner ?? session.User,
            GroupName = fields.GroupName ?? (session.Group.Length > 0 ? session.Group : throw Fail.Invalid("group is required: the session has no group")),
            Description = fields.Description ?? "",
            Tags = fields.Tags ?? [],
        };
    }

    /// <summary>
    /// An image by id, if the session may read it: its owner, user administrators, and members of its group when the
    /// group's visibility flag for this kind is on. Everyone else is told it does not exist.
    /// </summary>
    public async Task<ImageRow> FindToReadAsync(SessionContext session, string kind, string id)
    {
        var image = Guid.TryParse(id, out var guid) ? await images.FindAsync(kind, guid) : null;
        if (image is null || !(AccessRules.MayChange(session, image.Owner) ||
                               (image.GroupName == session.Group && await VisibleGroupAsync(session, kind) is not null)))
            throw Fail.NotFound($"{kind} image '{(id.Length > 40 ? id[..40] : id)}' not found");
        return image;
    }

    /// <summary>An image the session may change: its own, or any as a user administrator; group visibility grants reading only.</summary>
    public async Task<ImageRow> FindAsync(SessionContext session, string kind, string id)
    {
        var image = await FindToReadAsync(session, kind, id);
        AccessRules.RequireMayChange(session, image.Owner, $"{kind} image '{image.Name}'");
        return image;
    }

    /// <summary>The session's own images plus, when its group's flag is on, its group's (api-decisions.md B6/B7).</summary>
    public async Task<IReadOnlyList<ImageRow>> ListAsync(SessionContext session, string kind, string[] tags) =>
        await images.ListAsync(kind, session.User, await VisibleGroupAsync(session, kind), tags);

    public async Task ModifyAsync(SessionContext session, string kind, string id, ImageFields fields)
    {
        var image = await FindAsync(session, kind, id);
        AccessRules.RequireOwnName(session, $"a {kind} image", fields.Owner, fields.GroupName);
        await images.ModifyAsync(kind, image.Id, fields).OrFail(missing: NotFound(kind, image.Id), busy: Busy(kind, image.Id),
            exists: $"that group already has a {kind} image named '{fields.Name}'");
    }

    /// <summary>Deletes the record, then the file. An image a guest uses (overlay or CD-ROM) or one being written is refused.</summary>
    public async Task DeleteAsync(SessionContext session, string kind, string id)
    {
        var image = await FindAsync(session, kind, id);
        var written = await images.DeleteAsync(kind, image.Id);
        written.OrFail(missing: NotFound(kind, image.Id), busy: Busy(kind, image.Id), inUse: $"{kind} image {image.Id} is in use by guest(s) {written.Cause}");
        store.Delete(kind, image.Id);
    }

    /// <summary>
    /// Replaces the content of an image the session may see and change. <paramref name="stage"/> writes the
    /// bytes (into the store's temporary file) and returns them with the checksum the client sent, if any.
    /// </summary>
    public async Task<StagedContent> UploadAsync(SessionContext session, string kind, string id,
        Func<Task<(StagedContent Content, string? Sha1)>> stage)
    {
        AccessRules.Demand(session, MenuOf(kind));
        var image = await FindAsync(session, kind, id);
        var holder = Guid.NewGuid();
        await images.LockAsync(kind, image.Id, holder).OrFail(missing: NotFound(kind, image.Id), busy: Busy(kind, image.Id));
        StagedContent? staged = null;
        try
        {
            (staged, var expected) = await stage();
            if (!string.IsNullOrEmpty(expected) && !string.Equals(expected.Trim(), staged.Sha1, StringComparison.OrdinalIgnoreCase))
                throw Fail.Invalid($"checksum mismatch: the client sent SHA-1 {expected.Trim()}, the received {staged.Size} bytes hash to {staged.Sha1}");
            RequireStandalone(kind, staged.TempPath, "the upload");
            store.Commit(staged, kind, image.Id);
            await images.SetContentAsync(image.Id, holder, staged.Size, staged.Sha256, staged.Sha1);
            logger.LogInformation("{Kind} image {Id} written by {User}: {Size} bytes, SHA-256 {Sha256}", kind, image.Id, session.User, staged.Size, staged.Sha256);
            return staged;
        }
        catch
        {
            ImageStore.Discard(staged);
            await images.UnlockAsync(image.Id, holder);
            throw;
        }
    }

    /// <summary>An image's content to read: it must have content and not be being written.</summary>
    public async Task<(ImageRow Image, string Path)> OpenAsync(SessionContext session, string kind, string id)
    {
        var image = await FindUsableAsync(session, kind, id);
        return (image, store.PathOf(kind, image.Id));
    }

    /// <summary>An image the session may see, with content, not being written: ready to read, boot or clone.</summary>
    public async Task<ImageRow> FindUsableAsync(SessionContext session, string kind, string id)
    {
        var image = await FindToReadAsync(session, kind, id);
        if (!image.Created)
            throw Fail.Precondition($"{kind} image {image.Id} has no content yet");
        if (image.LockedBy is not null)
            throw Fail.Precondition(Busy(kind, image.Id));
        return image;
    }

    /// <summary>
    /// #68/#76: files dropped into the import folder (.iso for media, .qcow2 for disks) become images named
    /// after the file and the time; records whose files vanished from the store are forgotten.
    /// </summary>
    public async Task<int> SyncAsync(SessionContext session, string kind, string? owner, string? group, CancellationToken cancellationToken)
    {
        AccessRules.Demand(session, MenuOf(kind));
        // The name is set per file below; Complete fills owner and group from the session when not given.
        var fields = Complete(new ImageFields("import", InputRules.OptionalName("owner", owner), InputRules.OptionalName("group", group), null, null), session);
        // A store folder that is not there (an unmounted share) would make every image look vanished: nothing is forgotten
        // then. Its signs: no import folder, or none of two or more images on record has its file.
        var onRecord = (await images.ListAllAsync(kind)).Where(i => i.Created).ToList();
        var vanished = onRecord.Where(i => !File.Exists(store.PathOf(kind, i.Id))).Select(i => i.Id).ToList();
        if (!Directory.Exists(store.ImportFolder) || (onRecord.Count >= 2 && vanished.Count == onRecord.Count))
            throw Fail.Unavailable($"the image store {store.Root} is missing or holds none of the {onRecord.Count} {kind} images on record (not mounted?): nothing was imported or forgotten");
        var added = 0;
        var files = Directory.EnumerateFiles(store.ImportFolder, "*" + ImageStore.Extension(kind)).Order(StringComparer.Ordinal).ToList();
        // Every file is checked before any is taken: one that names other files refuses the whole synchronisation.
        foreach (var file in files)
            RequireStandalone(kind, file, Path.GetFileName(file));
        foreach (var file in files)
        {
            var (size, sha256, sha1) = await ImageStore.HashAsync(file, cancellationToken);
            var stem = SafeStem(Path.GetFileNameWithoutExtension(file));
            var now = DateTimeOffset.UtcNow;
            var id = Guid.NewGuid();
            File.Move(file, store.PathOf(kind, id));
            try
            {
                var found = fields with
                {
                    Name = Name($"{stem}_{now.ToUnixTimeSeconds()}"),
                    Description = $"generated by synchronisation at {NanoTime.Print(now.UtcDateTime)} from {Path.GetFileName(file)}",
                };
                await images.InsertFoundAsync(kind, id, found, size, sha256, sha1).OrFail(exists: Duplicate(kind, found));
                added++;
            }
            catch
            {
                File.Move(store.PathOf(kind, id), file);
                throw;
            }
        }
        // What was imported above has its file; what had none before it is forgotten.
        var forgotten = vanished.Count == 0 ? 0 : await images.ForgetAsync(kind, vanished);
        logger.LogInformation("Synchronised {Kind} images: {Added} imported, {Forgotten} forgotten", kind, added, forgotten);
        return added;
    }

    private async Task<string?> VisibleGroupAsync(SessionContext session, string kind)
    {
        if (session.Group.Length == 0 || await groups.GetVisibilityAsync(session.Group) is not { } flags)
            return null;
        return (kind == ImageKinds.Media ? flags.MediaImageVisible : flags.DiskImageVisible) ? session.Group : null;
    }

    private static string SafeStem(string stem)
    {
        var safe = new string(stem.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_').ToArray()).Trim('.');
        return safe.Length == 0 ? "image" : safe[..Math.Min(safe.Length, 50)];
    }

    private static string NotFound(string kind, Guid id) => $"{kind} image '{id}' not found";
}
