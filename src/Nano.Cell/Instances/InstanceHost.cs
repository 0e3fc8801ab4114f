using Nano.Cell.Hypervisor;
using Nano.Cell.Images;
using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;
using DomainState = Nano.Contracts.Cell.V1.DomainState;

namespace Nano.Cell.Instances;

/// <summary>
/// What every verb of the agent's instances works with: the hypervisor, the storage folder and its files, the image
/// cache and the server's files, the instance's firewall; and the state a command answers.
/// </summary>
public sealed class InstanceHost(
    IHypervisor hypervisor, CellStorageManager storage, string cellName, string address, ImageCache images, IImageSource server, string? bridge = null,
    HostCpus? cpus = null)
{
    public IHypervisor Hypervisor => hypervisor;

    public CellStorageManager Storage => storage;

    public string CellName => cellName;

    /// <summary>The zone the cell serves (Welcome.zone), stamped on every domain it defines; empty until the first welcome.</summary>
    public string Zone { get; set; } = "";

    /// <summary>
    /// The address consoles listen on: this host's loopback, where only the agent reaches them (for the server's relay,
    /// through a console tunnel). A console on a public address would be one 8-character VNC password from anyone.
    /// </summary>
    public string ConsoleListen => "127.0.0.1";

    public ImageCache Images => images;

    public IImageSource Server => server;

    /// <summary>The bridge guests' NICs join; null: libvirt's default network.</summary>
    public string? Bridge => bridge;

    public HostCpus Cpus { get; } = cpus ?? HostCpus.None;

    public InstanceFirewalls Firewalls { get; } = new(hypervisor);

    /// <summary>An instance's domain, which must exist and be stopped for <paramref name="work"/> (e.g. "its disks change").</summary>
    public void RequireStopped(string guestId, string work)
    {
        if (hypervisor.Find(guestId) is not { } found)
            throw new InvalidOperationException($"guest {guestId} has no domain on this cell");
        if (found.State == DomainState.Running)
            throw new InvalidOperationException($"guest {guestId} is running: {work} only while it is stopped");
    }

    /// <summary>A stopped guest's files in disk order (system, data volumes, then its cloud-init seed).</summary>
    public List<string> Files(string guestId) =>
        [.. Volumes(guestId), .. SeedOf(guestId) is { } seed ? [seed] : Array.Empty<string>()];

    /// <summary>Undoes a guest's half-built arrival here: the files made for it, and its firewall if one was defined.</summary>
    public void Undo(string guestId, IEnumerable<string> made, bool firewall)
    {
        foreach (var file in made)
            File.Delete(file);
        if (firewall)
            hypervisor.RemoveFirewall(InstanceFirewalls.Name(guestId));
    }

    /// <summary>An overlay over the cached image (fetched first if needed); <paramref name="then"/> runs while the cache still holds it for this use.</summary>
    public Task OverlayAsync(string path, CachedImage image, long size, Action<int> progress, CancellationToken cancellationToken, Func<Task>? then = null) =>
        images.UseAsync(image, ".qcow2", progress, async backing =>
        {
            await VolumeTool.CreateOverlayAsync(path, backing, size, cancellationToken);
            if (then is not null)
                await then();
        }, cancellationToken);

    /// <summary>Runs <paramref name="use"/> with the cached path of an ISO (fetched first if needed), which the cache keeps meanwhile.</summary>
    public Task WithIsoAsync(CachedImage media, Action<int> progress, Action<string> use, CancellationToken cancellationToken) =>
        images.UseAsync(media, ".iso", progress, iso =>
        {
            use(iso);
            return Task.CompletedTask;
        }, cancellationToken);

    /// <summary>Drops cached images nothing of this cell uses: overlays in the storage folder, the disks and CD-ROMs of its domains.</summary>
    public void SweepImages()
    {
        var folder = storage.CurrentPath;
        var inFolder = Directory.Exists(folder) ? Directory.EnumerateFiles(folder, "*.qcow2") : [];
        images.Sweep([.. inFolder, .. hypervisor.ListOwnVolumeFiles(cellName)]);
    }

    /// <summary>What a command answers of an instance: its domain's state, volumes, console and CPU definition.</summary>
    public InstanceState State(string guestId) => State(guestId, Volumes(guestId));

    /// <summary>
    /// What this cell has of the guest: its domain's state, volumes and generation when a domain here names this cell as
    /// the guest's; otherwise not defined (a copy another cell owns in a shared libvirtd is not this cell's).
    /// </summary>
    public InstanceState Inspect(string guestId)
    {
        if (hypervisor.OwnerOf(guestId) is not { } owner || owner.Cell != cellName)
            return new InstanceState { GuestId = guestId, Volumes = { Volumes(guestId) } };
        var state = State(guestId);
        state.Generation = owner.Generation;
        state.Defined = true;
        return state;
    }

    public InstanceState State(string guestId, IReadOnlyList<string> volumes)
    {
        var found = hypervisor.Find(guestId);
        var state = new InstanceState
        {
            GuestId = guestId, State = found?.State ?? DomainState.Unspecified, Volumes = { volumes }, Cpu = found is null ? "" : hypervisor.CpuOf(guestId),
        };
        if (found?.ConsolePort is { } port)
            state.DisplayAddress = $"{address}:{port}"; // the cell's announced address names the host; the port is its loopback's
        return state;
    }

    /// <summary>The guest's qcow2 volumes in the storage folder, in disk order.</summary>
    public List<string> Volumes(string guestId) => InstanceFiles.Volumes(storage.CurrentPath, guestId);

    /// <summary>The guest's cloud-init seed ISO in the storage folder, or null.</summary>
    public string? SeedOf(string guestId) => InstanceFiles.SeedIn(storage.CurrentPath, guestId);
}
