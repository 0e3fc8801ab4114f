using Nano.Cell.Hypervisor;
using Nano.Cell.Images;
using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;
using DomainState = Nano.Contracts.Cell.V1.DomainState;

namespace Nano.Cell.Guests;

/// <summary>
/// A cell's guests: qcow2 volumes named after the guest id in the storage folder (the system volume an
/// overlay of a cached disk image, or blank), an optional cloud-init seed ISO, a media drive, and the
/// libvirt domain. Creation undoes itself when a step fails.
/// </summary>
public sealed class InstanceManager(
    IHypervisor hypervisor, CellStorageManager storage, string cellName, string consoleListen, ImageCache images, IImageSource server, string? bridge = null,
    HostCpus? cpus = null)
{
    private readonly HostCpus _cpus = cpus ?? HostCpus.None;

    /// <summary>The name of a guest's network filter (its firewall).</summary>
    public static string FirewallName(string guestId) => $"nano-{guestId}";

    /// <summary>CPU priority: cputune shares and the share of each period a vCPU may run (api-decisions.md 4.5).</summary>
    private static (int Shares, int QuotaPercent) CpuPriority(string priority) => priority switch
    {
        "medium" => (1000, 50),
        "low" => (500, 25),
        _ => (2000, 100),
    };

    public async Task<InstanceState> CreateAsync(CreateInstance create, Action<int> progress, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(create.GuestId, out _))
            throw new ArgumentException($"'{create.GuestId}' is not a guest id");
        if (create.Disks.Count == 0 || create.Disks.Any(d => d <= 0) || create.Cores <= 0 || create.Memory <= 0)
            throw new ArgumentException("cores, memory and every disk size must be positive");
        if (hypervisor.Find(create.GuestId) is not null)
            throw new InvalidOperationException($"guest {create.GuestId} already has a domain on this cell");
        var folder = storage.CurrentPath;
        var volumes = create.Disks.Select((_, i) => GuestFiles.Volume(folder, create.GuestId, i)).ToList();
        var seed = create.CloudInit is null ? null : GuestFiles.Seed(folder, create.GuestId);
        var made = new List<string>();
        var firewall = create.SecurityPolicy is not null && hypervisor.SupportsFirewalls;
        try
        {
            if (firewall)
                ApplyFirewall(create.GuestId, create.SecurityPolicy!);
            for (var i = 0; i < volumes.Count; i++)
            {
                if (File.Exists(volumes[i]))
                    throw new InvalidOperationException($"volume {volumes[i]} already exists");
                made.Add(volumes[i]);
                if (i == 0 && create.SystemImage is { } image)
                    await OverlayAsync(volumes[i], image, create.Disks[i], progress, cancellationToken);
                else
                    await VolumeTool.CreateQcow2Async(volumes[i], create.Disks[i], cancellationToken);
            }
            if (seed is not null)
            {
                var staging = Path.Combine(folder, $".{create.GuestId}_ci");
                try
                {
                    CloudInitSeedWriter.Write(staging, create.GuestId, create.CloudInit!);
                    made.Add(seed);
                    await VolumeTool.CreateIsoAsync(seed, "cidata", staging, cancellationToken);
                }
                finally
                {
                    Directory.Delete(staging, recursive: true);
                }
            }
            hypervisor.Define(Definition(create, volumes, seed), create.AutoStart);
            return State(create.GuestId, volumes);
        }
        catch
        {
            Undo(create.GuestId, made, firewall);
            throw;
        }
    }

    /// <summary>
    /// Removes guests' firewalls (nano-&lt;guest id&gt;) whose domain is gone from libvirt, whichever cell
    /// made them: a domain removed outside the agent leaves its filter behind. Returns how many went.
    /// </summary>
    public int SweepFirewalls()
    {
        if (!hypervisor.SupportsFirewalls)
            return 0;
        var removed = 0;
        foreach (var name in hypervisor.ListFirewalls())
        {
            if (name.StartsWith("nano-", StringComparison.Ordinal) && Guid.TryParse(name["nano-".Length..], out var guest) &&
                hypervisor.Find(guest.ToString()) is null && hypervisor.RemoveFirewall(name))
                removed++;
        }
        return removed;
    }

    /// <summary>
    /// Defines or replaces the guest's firewall (an nwfilter its bridged NIC references); libvirt swaps the
    /// rules of a running guest at once.
    /// </summary>
    public void ApplyFirewall(string guestId, FirewallPolicy policy)
    {
        if (!Guid.TryParse(guestId, out _))
            throw new ArgumentException($"'{guestId}' is not a guest id");
        if (!hypervisor.SupportsFirewalls)
            throw new InvalidOperationException($"this cell's hypervisor ({hypervisor.Type}) has no network filters");
        hypervisor.ApplyFirewall(new FirewallDefinition(FirewallName(guestId), guestId, policy.DefaultAction != "reject",
            [.. policy.Rules.Select(r => new FirewallRuleDefinition(r.Action != "reject", r.Protocol, r.FromAddress, r.ToAddress, r.ToPort))]));
    }

    /// <summary>
    /// Defines the domain again over the guest's existing volumes (and seed); running guests pick it up at their next start.
    /// The CPU definition stays the domain's own: it changes only when the guest starts.
    /// </summary>
    public InstanceState Redefine(CreateInstance settings)
    {
        if (hypervisor.Find(settings.GuestId) is null)
            throw new InvalidOperationException($"guest {settings.GuestId} has no domain on this cell");
        var volumes = Volumes(settings.GuestId);
        var kept = settings.Clone();
        kept.Cpu = hypervisor.CpuOf(settings.GuestId);
        hypervisor.Define(Definition(kept, volumes, SeedOf(settings.GuestId)), settings.AutoStart);
        return State(settings.GuestId, volumes);
    }

    /// <summary>Undefines the guest's (stopped) domain if this cell owns it, removes its firewall, and deletes every file of the guest in the storage folder.</summary>
    public InstanceState Delete(string guestId) => Release(new ReleaseInstance { GuestId = guestId, DeleteFiles = true });

    /// <summary>
    /// Starts the guest; with <paramref name="media"/> it boots that ISO (fetched into the cache first). A domain
    /// of another generation than the server's (<paramref name="generation"/>, 0: unchecked) is a stale copy: refused. The
    /// domain runs with the CPU definition <paramref name="cpu"/> from now on ("" keeps the stored one); one this host cannot
    /// start is refused.
    /// </summary>
    public async Task<InstanceState> StartAsync(string guestId, CachedImage? media, long generation, string cpu, Action<int> progress,
        CancellationToken cancellationToken)
    {
        if (generation != 0 && hypervisor.OwnerOf(guestId) is { Generation: not 0 and var defined } && defined != generation)
            throw new InvalidOperationException($"guest {guestId}'s domain here is generation {defined}, the server's is {generation}: a stale copy does not start");
        if (cpu.Length > 0 && _cpus.For(cpu) is { Length: > 0 } definition)
            hypervisor.UseCpu(guestId, definition);
        if (media is null)
            hypervisor.Start(guestId);
        else
            await images.UseAsync(media, ".iso", progress, iso =>
            {
                hypervisor.StartFromMedia(guestId, iso);
                return Task.CompletedTask;
            }, cancellationToken);
        return State(guestId, Volumes(guestId));
    }

    /// <summary>Puts an ISO into (or, null, ejects it from) the media drive of a running guest.</summary>
    public async Task<InstanceState> ChangeMediaAsync(string guestId, CachedImage? media, Action<int> progress, CancellationToken cancellationToken)
    {
        if (hypervisor.Find(guestId) is not { State: DomainState.Running })
            throw new InvalidOperationException($"guest {guestId} is not running");
        if (media is null)
        {
            hypervisor.ChangeMedia(guestId, null);
            SweepImages();
        }
        else
            await images.UseAsync(media, ".iso", progress, iso =>
            {
                hypervisor.ChangeMedia(guestId, iso);
                return Task.CompletedTask;
            }, cancellationToken);
        return State(guestId, Volumes(guestId));
    }

    /// <summary>A stopped guest's files in disk order (system, data volumes, then its cloud-init seed).</summary>
    private List<string> Files(string guestId) =>
        [.. Volumes(guestId), .. SeedOf(guestId) is { } seed ? [seed] : Array.Empty<string>()];

    /// <summary>
    /// Pushes a stopped guest's files to the server, one per ticket in order (a migration's first half); or only its
    /// cloud-init seed, also while it runs (a live migration copies the volumes itself).
    /// </summary>
    public async Task<InstanceState> ExportVolumesAsync(ExportVolumes export, Action<int> progress, CancellationToken cancellationToken)
    {
        if (hypervisor.Find(export.GuestId) is not { } found)
            throw new InvalidOperationException($"guest {export.GuestId} has no domain on this cell");
        if (found.State == DomainState.Running && !export.SeedOnly)
            throw new InvalidOperationException($"guest {export.GuestId} is running: its volumes are exported only while it is stopped");
        var files = export.SeedOnly ? [.. SeedOf(export.GuestId) is { } seed ? [seed] : Array.Empty<string>()] : Files(export.GuestId);
        if (files.Count > export.Tickets.Count)
            throw new ArgumentException($"guest {export.GuestId} has {files.Count} files but the server sent {export.Tickets.Count} tickets");
        var total = Math.Max(1, files.Sum(f => new FileInfo(f).Length));
        long done = 0;
        for (var i = 0; i < files.Count; i++)
        {
            var before = done;
            await server.PushAsync(export.Tickets[i], files[i], sent => progress((int)((before + sent) * 100 / total)), cancellationToken);
            done += new FileInfo(files[i]).Length;
        }
        return State(export.GuestId, Volumes(export.GuestId));
    }

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
        if (hypervisor.Find(settings.GuestId) is { } existing)
        {
            if (import.TakeOverFrom.Length == 0 || hypervisor.OwnerOf(settings.GuestId)?.Cell != import.TakeOverFrom)
                throw new InvalidOperationException($"guest {settings.GuestId} already has a domain on this cell");
            // Fencing: the lost cell's copy in this (shared) libvirtd must not run beside the one defined here.
            if (existing.State == DomainState.Running)
                hypervisor.Stop(settings.GuestId, reboot: false, force: true);
            hypervisor.Undefine(settings.GuestId);
        }
        var folder = storage.CurrentPath;
        Directory.CreateDirectory(folder);
        var made = new List<string>();
        var firewall = settings.SecurityPolicy is not null && hypervisor.SupportsFirewalls;
        try
        {
            await FetchFilesAsync(settings.GuestId, import.Files, made, progress, cancellationToken);
            var volumes = Volumes(settings.GuestId);
            if (volumes.Count == 0)
                throw new InvalidOperationException($"guest {settings.GuestId} has no volumes in {folder}");
            if (settings.SystemImage is { } image && Qcow2Header.BackingFile(volumes[0]) is not null)
                await images.UseAsync(image, ".qcow2", _ => { }, cached => VolumeTool.RebaseAsync(volumes[0], cached, cancellationToken), cancellationToken);
            if (firewall)
                ApplyFirewall(settings.GuestId, settings.SecurityPolicy!);
            hypervisor.Define(Definition(settings, volumes, SeedOf(settings.GuestId)), settings.AutoStart);
            return State(settings.GuestId, volumes);
        }
        catch
        {
            Undo(settings.GuestId, made, firewall);
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
        if (hypervisor.Find(guestId) is not null)
            throw new InvalidOperationException($"guest {guestId} already has a domain in this cell's libvirtd: cells sharing one libvirtd cannot migrate live between them");
        var folder = storage.CurrentPath;
        var system = GuestFiles.Volume(folder, guestId, 0);
        if (live.CopyStorage ? GuestFiles.In(folder, guestId).Count > 0 : !File.Exists(system))
            throw new InvalidOperationException(live.CopyStorage
                ? $"guest {guestId} already has files in {folder}"
                : $"guest {guestId} has no volumes in {folder}: this cell does not share the source's storage");
        var made = new List<string>();
        var firewall = settings.SecurityPolicy is not null && hypervisor.SupportsFirewalls;
        try
        {
            if (firewall)
                ApplyFirewall(guestId, settings.SecurityPolicy!);
            var mode = live.CopyStorage ? MigrationStorage.CopiedOverSameBases : storage.Mode == "shared" ? MigrationStorage.SharedUnverified : MigrationStorage.Shared;
            var owner = new DomainOwner(guestId, cellName, settings.Generation);
            Task Migrate() => Task.Run(() => hypervisor.MigrateLiveHere(live.Uri, live.Cell, owner, consoleListen, mode, live.CopyStorage ? folder : null,
                settings.AutoStart, progress, cancellationToken), CancellationToken.None);
            if (live.CopyStorage)
            {
                if (import.Files.FirstOrDefault(f => f.Suffix != GuestFiles.SeedSuffix) is { } volume)
                    throw new ArgumentException($"'{volume.Suffix}' is not the cloud-init seed: a live migration copies the volumes itself");
                await FetchFilesAsync(guestId, import.Files, made, _ => { }, cancellationToken);
                for (var i = 1; i < settings.Disks.Count; i++)
                {
                    made.Add(GuestFiles.Volume(folder, guestId, i));
                    await VolumeTool.CreateQcow2Async(made[^1], settings.Disks[i], cancellationToken);
                }
                made.Add(system);
                if (settings.SystemImage is { } image)
                    await OverlayAsync(system, image, settings.Disks[0], _ => { }, cancellationToken, then: Migrate);
                else
                {
                    await VolumeTool.CreateQcow2Async(system, settings.Disks[0], cancellationToken);
                    await Migrate();
                }
            }
            else if (settings.SystemImage is { } image && Qcow2Header.BackingFile(system) is { } backing)
                await images.UseAsync(image, ".qcow2", _ => { }, cached => Path.GetFullPath(cached) == Path.GetFullPath(backing)
                    ? Migrate()
                    : throw new InvalidOperationException($"guest {guestId}'s system overlay is based on {backing}, but this cell caches the image at {cached}: give the cells of the pool one image cache path"),
                    cancellationToken);
            else
                await Migrate();
        }
        catch
        {
            if (hypervisor.Find(guestId) is null)
                Undo(guestId, made, firewall);
            throw;
        }
        return State(guestId, Volumes(guestId));
    }

    /// <summary>
    /// Lets a guest go to another cell: its domain and firewall are forgotten if this cell owns them (cells
    /// may share one libvirtd, where the guest's new domain has the same name), its files deleted on request.
    /// </summary>
    public InstanceState Release(ReleaseInstance release)
    {
        var guestId = release.GuestId;
        if (hypervisor.OwnerOf(guestId)?.Cell == cellName)
        {
            if (hypervisor.Find(guestId) is { State: DomainState.Running })
                throw new InvalidOperationException($"guest {guestId} is running");
            hypervisor.Undefine(guestId);
            if (hypervisor.SupportsFirewalls)
                hypervisor.RemoveFirewall(FirewallName(guestId));
        }
        else if (hypervisor.Find(guestId) is null && hypervisor.SupportsFirewalls)
            hypervisor.RemoveFirewall(FirewallName(guestId)); // the domain left live: its firewall stayed behind
        if (release.DeleteFiles)
        {
            foreach (var file in GuestFiles.In(storage.CurrentPath, guestId))
                File.Delete(file);
            SweepImages();
        }
        return new InstanceState { GuestId = guestId, State = DomainState.Unspecified };
    }

    /// <summary>Fetches a guest's staged files into the storage folder (names checked, none overwritten), each added to <paramref name="made"/>.</summary>
    private async Task FetchFilesAsync(string guestId, IReadOnlyCollection<StagedFile> files, List<string> made, Action<int> progress, CancellationToken cancellationToken)
    {
        var total = Math.Max(1, files.Sum(f => f.Size));
        long done = 0;
        foreach (var file in files)
        {
            if (!GuestFiles.IsSuffix(file.Suffix))
                throw new ArgumentException($"'{file.Suffix}' is not a volume name");
            var path = GuestFiles.Path(storage.CurrentPath, guestId, file.Suffix);
            if (File.Exists(path))
                throw new InvalidOperationException($"volume {path} already exists");
            made.Add(path);
            await FetchStagedAsync(file, path, fetched => progress((int)((done + fetched) * 100 / total)), cancellationToken);
            done += file.Size;
        }
    }

    /// <summary>Undoes a guest's half-built arrival here: the files made for it, and its firewall if one was defined.</summary>
    private void Undo(string guestId, IEnumerable<string> made, bool firewall)
    {
        foreach (var file in made)
            File.Delete(file);
        if (firewall)
            hypervisor.RemoveFirewall(FirewallName(guestId));
    }

    private async Task FetchStagedAsync(StagedFile file, string path, Action<long> fetched, CancellationToken cancellationToken)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        await using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
        {
            await server.FetchStagedAsync(file.Ticket, 0, async chunk =>
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

    /// <summary>
    /// Flattens a stopped guest's system volume (and the image under it) into one qcow2 file and pushes it
    /// to the server against <paramref name="export"/>'s ticket: 0-50 % converting, 50-100 % sending.
    /// </summary>
    public async Task<InstanceState> ExportSystemAsync(ExportSystem export, Action<int> progress, CancellationToken cancellationToken)
    {
        if (hypervisor.Find(export.GuestId) is not { } found)
            throw new InvalidOperationException($"guest {export.GuestId} has no domain on this cell");
        if (found.State == DomainState.Running)
            throw new InvalidOperationException($"guest {export.GuestId} is running: its system disk is copied only while it is stopped");
        var volumes = Volumes(export.GuestId);
        if (volumes.Count == 0)
            throw new InvalidOperationException($"guest {export.GuestId} has no system volume");
        var flat = GuestFiles.Export(storage.CurrentPath, export.GuestId);
        try
        {
            File.Delete(flat);
            await VolumeTool.FlattenAsync(volumes[0], flat, percent => progress(percent / 2), cancellationToken);
            var size = Math.Max(1, new FileInfo(flat).Length);
            await server.PushAsync(export.Ticket, flat, sent => progress(50 + (int)(sent * 50 / size)), cancellationToken);
        }
        finally
        {
            File.Delete(flat);
        }
        return State(export.GuestId, volumes);
    }

    public InstanceState Stop(string guestId, bool reboot, bool force)
    {
        hypervisor.Stop(guestId, reboot, force);
        return State(guestId, Volumes(guestId));
    }

    /// <summary>Grows (size &gt; 0) or compacts (size 0) volume <paramref name="disk"/> of a stopped guest.</summary>
    public async Task<InstanceState> ChangeDiskAsync(ChangeDisk change, CancellationToken cancellationToken)
    {
        if (hypervisor.Find(change.GuestId) is not { } found)
            throw new InvalidOperationException($"guest {change.GuestId} has no domain on this cell");
        if (found.State == DomainState.Running)
            throw new InvalidOperationException($"guest {change.GuestId} is running: its disks change only while it is stopped");
        var path = GuestFiles.Volume(storage.CurrentPath, change.GuestId, change.Disk);
        if (!File.Exists(path))
            throw new InvalidOperationException($"guest {change.GuestId} has no disk {change.Disk}");
        if (change.Size > 0)
            await VolumeTool.ResizeAsync(path, change.Size, cancellationToken);
        else
            await VolumeTool.CompactAsync(path, cancellationToken);
        return State(change.GuestId, Volumes(change.GuestId));
    }

    /// <summary>
    /// A new system volume in place of the old one: blank (a fresh install follows), or an overlay of a cached
    /// disk image. The old one is kept until the new one exists; cached images nothing uses any more go.
    /// </summary>
    public async Task<InstanceState> ResetSystemAsync(ResetSystem reset, Action<int> progress, CancellationToken cancellationToken)
    {
        if (hypervisor.Find(reset.GuestId) is not { } found)
            throw new InvalidOperationException($"guest {reset.GuestId} has no domain on this cell");
        if (found.State == DomainState.Running)
            throw new InvalidOperationException($"guest {reset.GuestId} is running: its system is reset only while it is stopped");
        if (reset.Size <= 0)
            throw new ArgumentException("the system volume size must be positive");
        var path = GuestFiles.Volume(storage.CurrentPath, reset.GuestId, 0);
        var fresh = path + ".new";
        File.Delete(fresh);
        if (reset.Image is null)
        {
            await VolumeTool.CreateQcow2Async(fresh, reset.Size, cancellationToken);
            File.Move(fresh, path, overwrite: true);
        }
        else
            await OverlayAsync(fresh, reset.Image, reset.Size, progress, cancellationToken, then: () =>
            {
                File.Move(fresh, path, overwrite: true);
                return Task.CompletedTask;
            });
        SweepImages();
        return State(reset.GuestId, Volumes(reset.GuestId));
    }

    /// <summary>Snapshots only of a stopped guest (internal qcow2 snapshots of every disk).</summary>
    public InstanceState Snapshot(string guestId, SnapshotAction action, string name, string description)
    {
        if (hypervisor.Find(guestId) is not { } found)
            throw new InvalidOperationException($"guest {guestId} has no domain on this cell");
        if (found.State == DomainState.Running)
            throw new InvalidOperationException($"guest {guestId} is running: snapshots need it stopped");
        hypervisor.Snapshot(guestId, action, name, description);
        return State(guestId, Volumes(guestId));
    }

    /// <summary>An overlay over the cached image (fetched first if needed); <paramref name="then"/> runs while the cache still holds it for this use.</summary>
    private Task OverlayAsync(string path, CachedImage image, long size, Action<int> progress, CancellationToken cancellationToken, Func<Task>? then = null) =>
        images.UseAsync(image, ".qcow2", progress, async backing =>
        {
            await VolumeTool.CreateOverlayAsync(path, backing, size, cancellationToken);
            if (then is not null)
                await then();
        }, cancellationToken);

    /// <summary>Drops cached images nothing of this cell uses: overlays in the storage folder, the disks and CD-ROMs of its domains.</summary>
    private void SweepImages()
    {
        var folder = storage.CurrentPath;
        var inFolder = Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.qcow2") : [];
        images.Sweep([.. inFolder, .. hypervisor.ListOwnVolumeFiles(cellName)]);
    }

    private InstanceState State(string guestId, IReadOnlyList<string> volumes)
    {
        var found = hypervisor.Find(guestId);
        var state = new InstanceState
        {
            GuestId = guestId, State = found?.State ?? DomainState.Unspecified, Volumes = { volumes }, Cpu = found is null ? "" : hypervisor.CpuOf(guestId),
        };
        if (found?.ConsolePort is { } port)
            state.DisplayAddress = $"{consoleListen}:{port}";
        return state;
    }

    /// <summary>The guest's qcow2 volumes in the storage folder, in disk order.</summary>
    private List<string> Volumes(string guestId) => GuestFiles.Volumes(storage.CurrentPath, guestId);

    /// <summary>The guest's cloud-init seed ISO in the storage folder, or null.</summary>
    private string? SeedOf(string guestId) => GuestFiles.SeedIn(storage.CurrentPath, guestId);

    internal DomainDefinition Definition(CreateInstance create, IReadOnlyList<string> volumes, string? seed)
    {
        var hardware = create.Hardware ?? new Hardware();
        var qos = create.Qos ?? new QosLimits();
        var bus = hardware.DiskBus is "scsi" or "sata" or "ide" ? hardware.DiskBus : "sata";
        var (shares, quota) = CpuPriority(qos.CpuPriority);
        var disks = volumes.Select(v => new DomainDisk(v, bus)
        {
            ReadBytesPerSecond = qos.ReadSpeed, WriteBytesPerSecond = qos.WriteSpeed,
            ReadIopsPerSecond = qos.ReadIops, WriteIopsPerSecond = qos.WriteIops,
        }).ToList();
        if (seed is not null)
            disks.Add(new DomainDisk(seed, bus == "scsi" ? "sata" : bus, Cdrom: true));
        return new DomainDefinition
        {
            Type = hypervisor.DomainType,
            Name = create.GuestId,
            Uuid = create.GuestId,
            MemoryBytes = create.Memory,
            VirtualCpus = create.Cores,
            Cpu = _cpus.For(create.Cpu),
            Owner = new DomainOwner(create.GuestId, cellName, create.Generation),
            Disks = disks,
            Nic = new DomainNic(create.Mac, hardware.NicModel.Length > 0 ? hardware.NicModel : "virtio", string.IsNullOrEmpty(bridge) ? null : bridge)
            {
                Filter = hypervisor.SupportsFirewalls && hypervisor.FirewallXml(FirewallName(create.GuestId)) is not null ? FirewallName(create.GuestId) : null,
                InboundKiBps = qos.ReceiveSpeed / 1024,
                OutboundKiBps = qos.SendSpeed / 1024,
            },
            Console = new DomainConsole(hardware.Control == "spice" ? "spice" : "vnc", create.MonitorSecret, consoleListen),
            Video = hardware.Display.Length > 0 ? hardware.Display : "vga",
            UsbController = hardware.Usb,
            Tablet = hardware.Tablet,
            GuestAgent = create.GuestAgent,
            CpuShares = shares,
            CpuQuotaPercent = quota,
            LocalTimeClock = hardware.OperatingSystem == "windows",
            MediaDriveBus = bus == "scsi" ? "sata" : bus,
        };
    }
}
