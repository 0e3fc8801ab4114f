using Nano.Libvirt.Native;

namespace Nano.Libvirt;

/// <summary>A libvirt network filter (nwfilter).</summary>
public sealed class NetworkFilter : IDisposable
{
    private readonly NetworkFilterHandle _handle;

    internal NetworkFilter(NetworkFilterHandle handle) => _handle = handle;

    /// <summary>The filter's name (libvirt keeps the string; it is copied here).</summary>
    public string Name => System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.virNWFilterGetName(_handle)) ?? "";

    public string GetXml() =>
        Libvirt.TakeString(NativeMethods.virNWFilterGetXMLDesc(_handle, 0)) ?? throw Libvirt.Error("virNWFilterGetXMLDesc");

    /// <summary>Removes the filter; libvirt refuses while an interface still uses it.</summary>
    public void Undefine() => Libvirt.Check(NativeMethods.virNWFilterUndefine(_handle), "undefine network filter");

    public void Dispose() => _handle.Dispose();
}
