using Nano.Images;
using Nano.Cell.Images;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;
using DomainState = Nano.Contracts.Cell.V1.DomainState;

namespace Nano.Cell.Instances;

/// <summary>
/// An instance arriving from another cell: its files fetched from the server's staging (or found on shared storage),
/// or the running guest taken over live. A half-built arrival is undone.
/// </summary>
public sealed class InstanceArrivals(InstanceHost host)
{
    /// <summary>
    /// Takes over a guest from another cell: fetches its staged files (SHA-256 checked) into the storage folder,
    /// or, with none, finds them there (shared storage); points a system overlay at this cell's cached copy of
    /// its image; then its firewall and domain. Undone when a step fails.
    /// </summary>
    public async Task<InstanceState> ImportAsync(ImportInstance import, Action<int> progress, CancellationToken cancellationToken)
    {
        var settings = import.Settings ?? throw new ArgumentException("settings are required");
        if (!Guid.TryParse(settings.GuestId, out _))
            throw new ArgumentException($"'{settings.GuestId}' is not a guest id");
        if (import.Live is not null)
            return await MigrateLiveHereAsync(import, progress, cancellationToken);
        if (host.Hypervisor.Find(settings.GuestId) is { } existing)
        {
            if (import.TakeOverFrom.Length == 0 || host.Hypervisor.OwnerOf(settings.GuestId)?.Cell != import.TakeOverFrom)
                throw new InvalidOperationException($"guest {settings.GuestId} already has a domain on this cell");
            // Fencing: the lost cell's copy in this (shared) libvirtd must not run beside the one defined here.
            if (existing.State == DomainState.Running)
                host.Hypervisor.Stop(settings.GuestId, reboot: false, force: true);
            host.Hypervisor.Undefine(settings.GuestId);
        }
        var folder = host.Storage.CurrentPath;
        Directory.CreateDirectory(folder);
        var made = new List<string>();
        var firewall = settings.SecurityPolicy is not null && host.Hypervisor.SupportsFirewalls;
        try
        {
            await FetchFilesAsync(settings.GuestId, import.Files, made, progress, cancellationToken);
            var volumes = host.Volumes(settings.GuestId);
            RequireOwnFiles(volumes, made, overlay: settings.SystemImage is not null);
            if (volumes.Count == 0)
                throw new InvalidOperationException($"guest {settings.GuestId} has no volumes in {folder}");
            if (settings.SystemImage is { } image && Qcow2Header.BackingFile(volumes[0]) is not null)
                await host.Images.UseAsync(image, ".qcow2", _ => { }, cached => VolumeTool.RebaseAsync(volumes[0], cached, cancellationToken), cancellationToken);
            if (firewall)
                host.Firewalls.Apply(settings.GuestId, settings.SecurityPolicy!);
            host.Hypervisor.Define(InstanceDomains.Of(host, settings, volumes, host.SeedOf(settings.GuestId)), settings.AutoStart);
            return host.State(settings.GuestId, volumes);
        }
        catch
        {
            host.Undo(settings.GuestId, made, firewall);
            throw;
        }
    }

    /// <summary>
    /// Takes over a running guest live from another cell's libvirtd. On shared storage its volumes must be in this cell's
    /// storage folder already, and an overlay's base where this cell caches that image (cells of a pool share their
    /// cache path). On local storage this cell creates them first, blank or as overlays over its own cached copy of the
    /// image, with the cloud-init seed fetched, and libvirt copies what the source's volumes hold on top of their bases.
    /// The firewall is defined first. If the migration fails (the guest then runs on at its source) all of it goes.
    /// </summary>
    private async Task<InstanceState> MigrateLiveHereAsync(ImportInstance import, Action<int> progress, CancellationToken cancellationToken)
    {
        var (settings, live) = (import.Settings, import.Live);
        var guestId = settings.GuestId;
        if (host.Hypervisor.Find(guestId) is not null)
            throw new InvalidOperationException($"guest {guestId} already has a domain in this cell's libvirtd: cells sharing one libvirtd cannot migrate live between them");
        var folder = host.Storage.CurrentPath;
        var system = InstanceFiles.Volume(folder, guestId, 0);
        if (live.CopyStorage ? InstanceFiles.In(folder, guestId).Count > 0 : !File.Exists(system))
            throw new InvalidOperationException(live.CopyStorage
                ? $"guest {guestId} already has files in {folder}"
                : $"guest {guestId} has no volumes in {folder}: this cell does not share the source's storage");
        var made = new List<string>();
        var firewall = settings.SecurityPolicy is not null && host.Hypervisor.SupportsFirewalls;
        try
        {
            if (firewall)
                host.Firewalls.Apply(guestId, settings.SecurityPolicy!);
            var mode = live.CopyStorage ? MigrationStorage.CopiedOverSameBases : host.Storage.Mode == "shared" ? MigrationStorage.SharedUnverified : MigrationStorage.Shared;
            var owner = new DomainOwner(guestId, host.CellName, settings.Generation, host.Zone);
            Task Migrate() => Task.Run(() => host.Hypervisor.MigrateLiveHere(live.Uri, live.Cell, owner, host.ConsoleListen, mode, live.CopyStorage ? folder : null,
                settings.AutoStart, progress, cancellationToken), CancellationToken.None);
            if (live.CopyStorage)
            {
                if (import.Files.FirstOrDefault(f => f.Suffix != InstanceFiles.SeedSuffix) is { } volume)
                    throw new ArgumentException($"'{volume.Suffix}' is not the cloud-init seed: a live migration copies the volumes itself");
                await FetchFilesAsync(guestId, import.Files, made, _ => { }, cancellationToken);
                for (var i = 1; i < settings.Disks.Count; i++)
                {
                    made.Add(InstanceFiles.Volume(folder, guestId, i));
                    await VolumeTool.CreateQcow2Async(made[^1], settings.Disks[i], cancellationToken);
                }
                made.Add(system);
                if (settings.SystemImage is { } image)
                    await host.OverlayAsync(system, image, settings.Disks[0], _ => { }, cancellationToken, then: Migrate);
                else
                {
                    await VolumeTool.CreateQcow2Async(system, settings.Disks[0], cancellationToken);
                    await Migrate();
                }
            }
            else if (settings.SystemImage is { } image && Qcow2Header.BackingFile(system) is { } backing)
                await host.Images.UseAsync(image, ".qcow2", _ => { }, cached => Path.GetFullPath(cached) == Path.GetFullPath(backing)
                    ? Migrate()
                    : throw new InvalidOperationException($"guest {guestId}'s system overlay is based on {backing}, but this cell caches the image at {cached}: give the cells of the pool one image cache path"),
                    cancellationToken);
            else
                await Migrate();
        }
        catch
        {
            if (host.Hypervisor.Find(guestId) is null)
                host.Undo(guestId, made, firewall);
            throw;
        }
        return host.State(guestId);
    }

    /// <summary>
    /// Refuses fetched volumes that would read other files of this host: a data volume must stand alone; the system
    /// volume may only be an overlay (of the image it is rebased onto here) when the guest has one. Another cell sent them.
    /// </summary>
    private static void RequireOwnFiles(IReadOnlyList<string> volumes, IReadOnlyCollection<string> fetched, bool overlay)
    {
        for (var i = 0; i < volumes.Count; i++)
        {
            if (fetched.Contains(volumes[i]) && Qcow2Header.Refusal(volumes[i], backingAllowed: i == 0 && overlay) is { } why)
                throw new InvalidOperationException($"{Path.GetFileName(volumes[i])} is refused: {why}");
        }
    }

    /// <summary>Fetches a guest's staged files into the storage folder (names checked, none overwritten), each added to <paramref name="made"/>.</summary>
    private async Task FetchFilesAsync(string guestId, IReadOnlyCollection<StagedFile> files, List<string> made, Action<int> progress, CancellationToken cancellationToken)
    {
        var total = Math.Max(1, files.Sum(f => f.Size));
        long done = 0;
        foreach (var file in files)
        {
            if (!InstanceFiles.IsSuffix(file.Suffix))
                throw new ArgumentException($"'{file.Suffix}' is not a volume name");
            var path = InstanceFiles.Path(host.Storage.CurrentPath, guestId, file.Suffix);
            if (File.Exists(path))
                throw new InvalidOperationException($"volume {path} already exists");
            made.Add(path);
            await FetchStagedAsync(file, path, fetched => progress((int)((done + fetched) * 100 / total)), cancellationToken);
            done += file.Size;
        }
    }

    private async Task FetchStagedAsync(StagedFile file, string path, Action<long> fetched, CancellationToken cancellationToken)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        await using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
        {
            await host.Server.FetchStagedAsync(file.Ticket, 0, async chunk =>
            {
                hash.AppendData(chunk.Span);
                await output.WriteAsync(chunk, cancellationToken);
                fetched(output.Length);
            }, cancellationToken);
        }
        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != file.Sha256 || new FileInfo(path).Length != file.Size)
            throw new InvalidOperationException($"{Path.GetFileName(path)} arrived damaged: SHA-256 {actual}, expected {file.Sha256}");
    }
}
