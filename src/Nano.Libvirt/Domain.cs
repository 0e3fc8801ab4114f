using System.Runtime.InteropServices;
using Nano.Libvirt.Native;

namespace Nano.Libvirt;

/// <summary>One libvirt domain (a virtual machine), defined or running.</summary>
public sealed class Domain : IDisposable
{
    /// <summary>VIR_DOMAIN_METADATA_ELEMENT.</summary>
    private const int MetadataElement = 2;

    /// <summary>VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA (guests boot from BIOS: no NVRAM).</summary>
    private const uint UndefineEverything = 1 | 2;

    private readonly DomainHandle _handle;

    internal Domain(DomainHandle handle)
    {
        _handle = handle;
        Name = Marshal.PtrToStringUTF8(NativeMethods.virDomainGetName(handle)) ?? "";
        Span<byte> uuid = stackalloc byte[37];
        Libvirt.Check(NativeMethods.virDomainGetUUIDString(handle, uuid), "virDomainGetUUIDString");
        Uuid = System.Text.Encoding.ASCII.GetString(uuid[..36]);
    }

    public string Name { get; }

    /// <summary>The domain's UUID, lower-case with dashes.</summary>
    public string Uuid { get; }

    public DomainInfo GetInfo()
    {
        Libvirt.Check(NativeMethods.virDomainGetInfo(_handle, out var info), "virDomainGetInfo");
        return new DomainInfo((DomainState)info.State, (long)info.MaxMem * 1024, (long)info.Memory * 1024, info.NrVirtCpu, info.CpuTime);
    }

    public DomainState GetState()
    {
        Libvirt.Check(NativeMethods.virDomainGetState(_handle, out var state, out _, 0), "virDomainGetState");
        return (DomainState)state;
    }

    /// <summary>Cumulative bytes read and written by the disk with target <paramref name="device"/> (e.g. "vda").</summary>
    public (long Read, long Written) GetBlockStats(string device)
    {
        Libvirt.Check(NativeMethods.virDomainBlockStats(_handle, device, out var stats, (nuint)Marshal.SizeOf<NativeMethods.BlockStatsNative>()),
            $"block stats of {Name} {device}");
        return (Math.Max(0, stats.ReadBytes), Math.Max(0, stats.WriteBytes));
    }

    /// <summary>Cumulative bytes received and sent by the interface <paramref name="device"/> (e.g. "vnet0").</summary>
    public (long Received, long Sent) GetInterfaceStats(string device)
    {
        Libvirt.Check(NativeMethods.virDomainInterfaceStats(_handle, device, out var stats, (nuint)Marshal.SizeOf<NativeMethods.InterfaceStatsNative>()),
            $"interface stats of {Name} {device}");
        return (Math.Max(0, stats.ReceivedBytes), Math.Max(0, stats.SentBytes));
    }

    /// <summary>Target names of the domain's disks and network interfaces, from its live XML.</summary>
    public (IReadOnlyList<string> Disks, IReadOnlyList<string> Interfaces) GetDeviceNames()
    {
        var devices = System.Xml.Linq.XElement.Parse(GetXml()).Element("devices");
        IReadOnlyList<string> Targets(string kind) => devices?.Elements(kind)
            .Select(e => (string?)e.Element("target")?.Attribute("dev"))
            .OfType<string>().ToList() ?? [];
        return (Targets("disk"), Targets("interface"));
    }

    /// <summary>VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE: the persistent definition, console password included.</summary>
    private const uint PersistentXml = 1 | 2;

    /// <summary>VIR_DOMAIN_AFFECT_LIVE.</summary>
    private const uint AffectLive = 1;

    /// <summary>The live definition (the persistent one while the domain is off), without secrets.</summary>
    public string GetXml() =>
        Libvirt.TakeString(NativeMethods.virDomainGetXMLDesc(_handle, 0)) ?? throw Libvirt.Error("virDomainGetXMLDesc");

    /// <summary>The persistent definition with its secrets: what defining it again keeps unchanged.</summary>
    public string GetPersistentXml() =>
        Libvirt.TakeString(NativeMethods.virDomainGetXMLDesc(_handle, PersistentXml)) ?? throw Libvirt.Error("virDomainGetXMLDesc");

    /// <summary>VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_MIGRATABLE, plus VIR_DOMAIN_XML_INACTIVE for the persistent definition.</summary>
    private const uint MigratableXml = 1 | 8;

    /// <summary>VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE | VIR_MIGRATE_ABORT_ON_ERROR.</summary>
    private const uint LiveMigration = 1 | 8 | 16 | 4096;

    /// <summary>The storage flag of a live migration.</summary>
    private static uint StorageFlag(MigrationStorage storage) => storage switch
    {
        MigrationStorage.SharedUnverified => 512, // VIR_MIGRATE_UNSAFE
        MigrationStorage.CopiedOverSameBases => 128, // VIR_MIGRATE_NON_SHARED_INC
        _ => 0,
    };

    /// <summary>The definition another host can take (secrets included): the running one, or with <paramref name="persistent"/> the stored one.</summary>
    public string GetMigratableXml(bool persistent) =>
        Libvirt.TakeString(NativeMethods.virDomainGetXMLDesc(_handle, MigratableXml | (persistent ? 2u : 0))) ?? throw Libvirt.Error("virDomainGetXMLDesc");

    /// <summary>
    /// Moves the running domain to <paramref name="destination"/>'s libvirtd, this client managing the migration: it runs
    /// there with <paramref name="liveXml"/>, is defined there with <paramref name="persistentXml"/>, and its definition
    /// here goes. Migration data (and copied disks) flow to <paramref name="dataUri"/> (tcp://an address of the destination host).
    /// Blocks until the guest runs on the destination, or fails leaving it running here; returns the destination's domain.
    /// </summary>
    public Domain MigrateLive(Connection destination, string liveXml, string persistentXml, string dataUri, MigrationStorage storage)
    {
        nint parameters = 0;
        int count = 0, capacity = 0;
        try
        {
            foreach (var (name, value) in new[] { ("destination_xml", liveXml), ("persistent_xml", persistentXml), ("migrate_uri", dataUri) })
                Libvirt.Check(NativeMethods.virTypedParamsAddString(ref parameters, ref count, ref capacity, name, value), "migration parameters");
            var moved = NativeMethods.virDomainMigrate3(_handle, destination.Handle, parameters, (uint)count,
                LiveMigration | StorageFlag(storage));
            return moved == nint.Zero ? throw Libvirt.Error($"migrate {Name}") : new Domain(DomainHandle.Own(moved));
        }
        finally
        {
            if (parameters != nint.Zero)
                NativeMethods.virTypedParamsFree(parameters, count);
        }
    }

    /// <summary>Bytes processed and in all of the domain's current job (a migration); null when none runs.</summary>
    public (long Processed, long Total)? GetJobProgress()
    {
        if (NativeMethods.virDomainGetJobInfo(_handle, out var info) < 0)
        {
            NativeMethods.virResetLastError();
            return null;
        }
        return info.Type == 0 ? null : ((long)info.DataProcessed, (long)info.DataTotal);
    }

    /// <summary>Cancels the domain's current job (a migration); it keeps running where it was.</summary>
    public void AbortJob() => Libvirt.Check(NativeMethods.virDomainAbortJob(_handle), $"abort the job of {Name}");

    /// <summary>Changes a device of the running domain only (e.g. the medium in a CD-ROM drive); the persistent definition keeps its own.</summary>
    public void UpdateLiveDevice(string deviceXml) =>
        Libvirt.Check(NativeMethods.virDomainUpdateDeviceFlags(_handle, deviceXml, AffectLive), $"update a device of {Name}");

    /// <summary>The metadata element stored under namespace <paramref name="uri"/>, or null when there is none.</summary>
    public string? GetMetadata(string uri)
    {
        var pointer = NativeMethods.virDomainGetMetadata(_handle, MetadataElement, uri, 0);
        if (pointer == nint.Zero)
        {
            NativeMethods.virResetLastError();
            return null;
        }
        return Libvirt.TakeString(pointer);
    }

    public void Start() => Libvirt.Check(NativeMethods.virDomainCreate(_handle), $"start {Name}");

    /// <summary>Powers the domain off at once.</summary>
    public void Destroy() => Libvirt.Check(NativeMethods.virDomainDestroy(_handle), $"destroy {Name}");

    /// <summary>Asks the guest to shut down (ACPI); returns before it has.</summary>
    public void Shutdown() => Libvirt.Check(NativeMethods.virDomainShutdown(_handle), $"shutdown {Name}");

    public void Reboot() => Libvirt.Check(NativeMethods.virDomainReboot(_handle, 0), $"reboot {Name}");

    /// <summary>Sets an account's password inside the running guest, through the QEMU guest agent.</summary>
    public void SetUserPassword(string user, string password) =>
        Libvirt.Check(NativeMethods.virDomainSetUserPassword(_handle, user, password, 0), $"set the password of {user} in {Name}");

    /// <summary>Hard reset, like the reset button.</summary>
    public void Reset() => Libvirt.Check(NativeMethods.virDomainReset(_handle, 0), $"reset {Name}");

    /// <summary>Whether libvirt starts the domain when the host (libvirtd) starts.</summary>
    public bool Autostart
    {
        get
        {
            Libvirt.Check(NativeMethods.virDomainGetAutostart(_handle, out var value), $"autostart of {Name}");
            return value != 0;
        }
        set => Libvirt.Check(NativeMethods.virDomainSetAutostart(_handle, value ? 1 : 0), $"set autostart of {Name}");
    }

    /// <summary>Gives the running domain's console (its graphics device) a new password at once; the persistent definition keeps its own.</summary>
    public void SetConsolePassword(string password)
    {
        var graphics = System.Xml.Linq.XElement.Parse(GetXml()).Element("devices")?.Element("graphics")
            ?? throw new LibvirtException($"set the console password of {Name}", "the domain has no console");
        graphics.SetAttributeValue("passwd", password);
        UpdateLiveDevice(graphics.ToString());
    }

    /// <summary>The console port libvirt gave the running domain (graphics port in the live XML), or null.</summary>
    public int? GetConsolePort()
    {
        var graphics = System.Xml.Linq.XElement.Parse(GetXml()).Element("devices")?.Element("graphics");
        return int.TryParse((string?)graphics?.Attribute("port"), out var port) && port > 0 ? port : null;
    }

    /// <summary>Removes the definition (and libvirt's snapshot and save metadata); the domain must not run.</summary>
    public void Undefine() => Libvirt.Check(NativeMethods.virDomainUndefineFlags(_handle, UndefineEverything), $"undefine {Name}");

    /// <summary>Takes an internal snapshot (qcow2) of the domain's disks; the domain should be shut off.</summary>
    public void CreateSnapshot(string name, string description)
    {
        var xml = new System.Xml.Linq.XElement("domainsnapshot",
            new System.Xml.Linq.XElement("name", name), new System.Xml.Linq.XElement("description", description)).ToString();
        using var snapshot = NativeMethods.virDomainSnapshotCreateXML(_handle, xml, 0);
        if (snapshot.IsInvalid)
            throw Libvirt.Error($"snapshot {Name} as {name}");
    }

    /// <summary>Reverts the disks to snapshot <paramref name="name"/>, which becomes current.</summary>
    public void RevertToSnapshot(string name)
    {
        using var snapshot = LookupSnapshot(name);
        Libvirt.Check(NativeMethods.virDomainRevertToSnapshot(snapshot, 0), $"revert {Name} to {name}");
    }

    /// <summary>Deletes snapshot <paramref name="name"/>; its children keep their data and move up to its parent.</summary>
    public void DeleteSnapshot(string name)
    {
        using var snapshot = LookupSnapshot(name);
        Libvirt.Check(NativeMethods.virDomainSnapshotDelete(snapshot, 0), $"delete snapshot {name} of {Name}");
    }

    private SnapshotHandle LookupSnapshot(string name)
    {
        var snapshot = NativeMethods.virDomainSnapshotLookupByName(_handle, name, 0);
        if (snapshot.IsInvalid)
        {
            snapshot.Dispose();
            throw Libvirt.Error($"snapshot {name} of {Name}");
        }
        return snapshot;
    }

    public void Dispose() => _handle.Dispose();
}
