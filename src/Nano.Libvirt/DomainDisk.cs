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

    /// <summary>
    /// <paramref name="domainXml"/> with the disks whose file names start with "<paramref name="prefix"/>_" in
    /// <paramref name="folder"/> instead (a domain moving to another host's storage); libvirt reads their backing
    /// chains there afresh.
    /// </summary>
    public static string MoveFiles(string domainXml, string prefix, string folder)
    {
        var domain = System.Xml.Linq.XElement.Parse(domainXml);
        foreach (var disk in domain.Element("devices")?.Elements("disk") ?? [])
        {
            if (disk.Element("source")?.Attribute("file") is not { } file || !System.IO.Path.GetFileName(file.Value).StartsWith(prefix + "_", StringComparison.Ordinal))
                continue;
            file.Value = System.IO.Path.Combine(folder, System.IO.Path.GetFileName(file.Value));
            System.Xml.Linq.Extensions.Remove(disk.Elements("backingStore"));
        }
        return domain.ToString(System.Xml.Linq.SaveOptions.DisableFormatting);
    }
}
