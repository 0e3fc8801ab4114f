using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;

namespace Nano.Cell.Instances;

/// <summary>Snapshots of a stopped instance (internal qcow2 snapshots of every disk).</summary>
public sealed class InstanceSnapshots(InstanceHost host)
{
    /// <summary>Snapshots only of a stopped guest (internal qcow2 snapshots of every disk).</summary>
    public InstanceState Snapshot(string guestId, SnapshotAction action, string name, string description)
    {
        host.RequireStopped(guestId, "snapshots are taken, reverted and deleted");
        host.Hypervisor.Snapshot(guestId, action, name, description);
        return host.State(guestId);
    }
}
