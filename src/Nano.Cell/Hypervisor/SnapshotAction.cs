namespace Nano.Cell.Hypervisor;

/// <summary>What to do with a snapshot.</summary>
public enum SnapshotAction
{
    Create,
    Revert,
    Delete,
}
