namespace Nano.Libvirt;

/// <summary>Where a live-migrated domain's disks are.</summary>
public enum MigrationStorage
{
    /// <summary>On storage both hosts see, which libvirt recognises as shared (NFS).</summary>
    Shared,

    /// <summary>On storage both hosts see although libvirt cannot tell (a folder the hosts mount themselves).</summary>
    SharedUnverified,

    /// <summary>
    /// Local to each host: the destination's volumes exist already over the same base images, and libvirt copies
    /// what the source's volumes hold on top of their bases while the guest runs.
    /// </summary>
    CopiedOverSameBases,
}
