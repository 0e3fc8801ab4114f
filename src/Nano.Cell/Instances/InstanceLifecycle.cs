using Nano.Contracts.Cell.V1;
using Nano.Libvirt;

namespace Nano.Cell.Instances;

/// <summary>
/// Creating, defining again, starting, stopping and deleting an instance: qcow2 volumes named after the guest id in the
/// storage folder (the system volume an overlay of a cached disk image, or blank), an optional cloud-init seed ISO,
/// and the libvirt domain. Creation undoes itself when a step fails.
/// </summary>
public sealed class InstanceLifecycle(InstanceHost host, InstanceDepartures departures)
{
    public async Task<InstanceState> CreateAsync(CreateInstance create, Action<int> progress, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(create.GuestId, out _))
            throw new ArgumentException($"'{create.GuestId}' is not a guest id");
        if (create.Disks.Count == 0 || create.Disks.Any(d => d <= 0) || create.Cores <= 0 || create.Memory <= 0)
            throw new ArgumentException("cores, memory and every disk size must be positive");
        if (host.Hypervisor.Find(create.GuestId) is not null)
            throw new InvalidOperationException($"guest {create.GuestId} already has a domain on this cell");
        var folder = host.Storage.CurrentPath;
        var volumes = create.Disks.Select((_, i) => InstanceFiles.Volume(folder, create.GuestId, i)).ToList();
        var seed = create.CloudInit is null ? null : InstanceFiles.Seed(folder, create.GuestId);
        var made = new List<string>();
        var firewall = create.SecurityPolicy is not null && host.Hypervisor.SupportsFirewalls;
        try
        {
            if (firewall)
                host.Firewalls.Apply(create.GuestId, create.SecurityPolicy!);
            for (var i = 0; i < volumes.Count; i++)
            {
                if (File.Exists(volumes[i]))
                    throw new InvalidOperationException($"volume {volumes[i]} already exists");
                made.Add(volumes[i]);
                if (i == 0 && create.SystemImage is { } image)
                    await host.OverlayAsync(volumes[i], image, create.Disks[i], progress, cancellationToken);
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
            host.Hypervisor.Define(InstanceDomains.Of(host, create, volumes, seed), create.AutoStart);
            return host.State(create.GuestId, volumes);
        }
        catch
        {
            host.Undo(create.GuestId, made, firewall);
            throw;
        }
    }

    /// <summary>
    /// Defines the domain again over the guest's existing volumes (and seed); running guests pick it up at their next start,
    /// but for the console password, which a running guest's console takes at once (an old password must stop working).
    /// The CPU definition stays the domain's own: it changes only when the guest starts.
    /// </summary>
    public InstanceState Redefine(CreateInstance settings)
    {
        var found = host.Hypervisor.Find(settings.GuestId) ?? throw new InvalidOperationException($"guest {settings.GuestId} has no domain on this cell");
        var volumes = host.Volumes(settings.GuestId);
        var kept = settings.Clone();
        kept.Cpu = host.Hypervisor.CpuOf(settings.GuestId);
        host.Hypervisor.Define(InstanceDomains.Of(host, kept, volumes, host.SeedOf(settings.GuestId)), settings.AutoStart);
        if (found.State == Nano.Contracts.Cell.V1.DomainState.Running && found.ConsolePort is not null && settings.MonitorSecret.Length > 0)
            host.Hypervisor.SetConsolePassword(settings.GuestId, settings.MonitorSecret);
        return host.State(settings.GuestId, volumes);
    }

    /// <summary>
    /// Starts the guest; with <paramref name="media"/> it boots that ISO (fetched into the cache first). A domain
    /// of another generation than the server's (<paramref name="generation"/>, 0: unchecked) is a stale copy: refused. The
    /// domain runs with the CPU definition <paramref name="cpu"/> from now on ("" keeps the stored one); one this host cannot
    /// start is refused.
    /// </summary>
    public async Task<InstanceState> StartAsync(string guestId, CachedImage? media, long generation, string cpu, Action<int> progress,
        CancellationToken cancellationToken)
    {
        if (generation != 0 && host.Hypervisor.OwnerOf(guestId) is { Generation: not 0 and var defined } && defined != generation)
            throw new InvalidOperationException($"guest {guestId}'s domain here is generation {defined}, the server's is {generation}: a stale copy does not start");
        if (cpu.Length > 0 && host.Cpus.For(cpu) is { Length: > 0 } definition)
            host.Hypervisor.UseCpu(guestId, definition);
        if (media is null)
            host.Hypervisor.Start(guestId);
        else
            await host.WithIsoAsync(media, progress, iso => host.Hypervisor.StartFromMedia(guestId, iso), cancellationToken);
        return host.State(guestId);
    }

    public InstanceState Stop(string guestId, bool reboot, bool force)
    {
        host.Hypervisor.Stop(guestId, reboot, force);
        return host.State(guestId);
    }

    /// <summary>Undefines the guest's (stopped) domain if this cell owns it, removes its firewall, and deletes every file of the guest in the storage folder.</summary>
    public InstanceState Delete(string guestId) => departures.Release(new ReleaseInstance { GuestId = guestId, DeleteFiles = true });
}
