using System.Runtime.InteropServices;

namespace Nano.Libvirt.Native;

/// <summary>A virDomainPtr, released with virDomainFree.</summary>
internal sealed class DomainHandle : SafeHandle
{
    public DomainHandle() : base(nint.Zero, ownsHandle: true)
    {
    }

    /// <summary>Takes a reference of its own on a pointer libvirt lends (an event callback's domain).</summary>
    internal static DomainHandle Borrow(nint pointer)
    {
        NativeMethods.virDomainRef(pointer);
        var domain = new DomainHandle();
        domain.SetHandle(pointer);
        return domain;
    }

    /// <summary>Owns a pointer libvirt handed over (an element of virConnectListAllDomains).</summary>
    internal static DomainHandle Own(nint pointer)
    {
        var domain = new DomainHandle();
        domain.SetHandle(pointer);
        return domain;
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle() => NativeMethods.virDomainFree(handle) >= 0;
}
