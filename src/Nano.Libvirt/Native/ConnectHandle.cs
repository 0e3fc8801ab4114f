using System.Runtime.InteropServices;

namespace Nano.Libvirt.Native;

/// <summary>A virConnectPtr, closed with virConnectClose.</summary>
internal sealed class ConnectHandle() : SafeHandle(nint.Zero, ownsHandle: true)
{
    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle() => NativeMethods.virConnectClose(handle) >= 0;
}
