using System.Runtime.InteropServices;

namespace Nano.Libvirt.Native;

/// <summary>A virDomainSnapshotPtr, released with virDomainSnapshotFree.</summary>
internal sealed class SnapshotHandle() : SafeHandle(nint.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle() => NativeMethods.virDomainSnapshotFree(handle) >= 0;
}
