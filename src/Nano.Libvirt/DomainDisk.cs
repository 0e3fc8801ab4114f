namespace Nano.Libvirt;

/// <summary>One disk or CD-ROM of a domain.</summary>
/// <param name="Path">Image file.</param>
/// <param name="Bus">"virtio", "scsi", "sata" or "ide".</param>
/// <param name="Cdrom">A read-only CD-ROM (raw ISO) instead of a qcow2 disk.</param>
public sealed record DomainDisk(string Path, string Bus, bool Cdrom = false)
{
    /// <summary>Read limit in bytes per second; 0 for none.</summary>
    public long ReadBytesPerSecond { get; init; }

    /// <summary>Write limit in bytes per second; 0 for none.</summary>
    public long WriteBytesPerSecond { get; init; }

    /// <summary>Read limit in operations per second; 0 for none.</summary>
    public long ReadIopsPerSecond { get; init; }

    /// <summary>Write limit in operations per second; 0 for none.</summary>
    public long WriteIopsPerSecond { get; init; }
}
