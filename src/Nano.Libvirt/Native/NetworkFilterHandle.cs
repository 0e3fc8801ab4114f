using System.Runtime.InteropServices;

namespace Nano.Libvirt.Native;

/// <summary>A virNWFilterPtr, released with virNWFilterFree.</summary>
internal sealed class NetworkFilterHandle : SafeHandle
{
    public NetworkFilterHandle() : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle() => NativeMethods.virNWFilterFree(handle) >= 0;
}
