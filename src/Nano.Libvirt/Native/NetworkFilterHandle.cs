using System.Runtime.InteropServices;

namespace Nano.Libvirt.Native;

/// <summary>A virNWFilterPtr, released with virNWFilterFree.</summary>
internal sealed class NetworkFilterHandle : SafeHandle
{
    public NetworkFilterHandle() : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <summary>Owns a pointer libvirt handed over (an element of virConnectListAllNWFilters).</summary>
    internal static NetworkFilterHandle Own(nint pointer)
    {
        var filter = new NetworkFilterHandle();
        filter.SetHandle(pointer);
        return filter;
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle() => NativeMethods.virNWFilterFree(handle) >= 0;
}
