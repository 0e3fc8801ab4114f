using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Nano.Libvirt.Native;

namespace Nano.Libvirt;

/// <summary>A connection to a libvirt driver: qemu:///system on a cell, test:///default in tests.</summary>
public sealed class Connection : IDisposable
{
    private const int LifecycleEventId = 0;

    private readonly ConnectHandle _handle;
    private readonly ConcurrentDictionary<int, GCHandle> _subscriptions = new();

    private Connection(ConnectHandle handle, string uri)
    {
        _handle = handle;
        Uri = uri;
    }

    public string Uri { get; }

    internal ConnectHandle Handle => _handle;

    public static Connection Open(string uri)
    {
        Libvirt.EnsureInitialised();
        var handle = NativeMethods.virConnectOpen(uri);
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw Libvirt.Error($"open {uri}");
        }
        return new Connection(handle, uri);
    }

    public bool IsAlive => NativeMethods.virConnectIsAlive(_handle) == 1;

    /// <summary>Driver name, e.g. "QEMU" or "TEST".</summary>
    public string HypervisorType => Marshal.PtrToStringUTF8(NativeMethods.virConnectGetType(_handle)) ?? throw Libvirt.Error("virConnectGetType");

    /// <summary>Hypervisor version as major * 1,000,000 + minor * 1,000 + release.</summary>
    public long HypervisorVersion
    {
        get
        {
            Libvirt.Check(NativeMethods.virConnectGetVersion(_handle, out var version), "virConnectGetVersion");
            return (long)version;
        }
    }

    /// <summary>libvirt version as major * 1,000,000 + minor * 1,000 + release.</summary>
    public long LibraryVersion
    {
        get
        {
            Libvirt.Check(NativeMethods.virConnectGetLibVersion(_handle, out var version), "virConnectGetLibVersion");
            return (long)version;
        }
    }

    public string Hostname => Libvirt.TakeString(NativeMethods.virConnectGetHostname(_handle)) ?? throw Libvirt.Error("virConnectGetHostname");

    public unsafe NodeInfo GetNodeInfo()
    {
        Libvirt.Check(NativeMethods.virNodeGetInfo(_handle, out var info), "virNodeGetInfo");
        var model = Marshal.PtrToStringUTF8((nint)info.Model) ?? "";
        return new NodeInfo(model, (long)info.Memory * 1024, (int)info.Cpus, (int)info.Mhz);
    }

    /// <summary>Free host memory in bytes.</summary>
    public long GetFreeMemory()
    {
        var free = NativeMethods.virNodeGetFreeMemory(_handle);
        if (free == 0)
            throw Libvirt.Error("virNodeGetFreeMemory");
        return (long)free;
    }

    /// <summary>Sends keep-alives so a dead daemon is noticed (remote drivers only).</summary>
    public void SetKeepAlive(int intervalSeconds, uint count) =>
        NativeMethods.virConnectSetKeepAlive(_handle, intervalSeconds, count);

    /// <summary>Every domain of the connection, running or only defined. The caller disposes them.</summary>
    public IReadOnlyList<Domain> ListDomains() =>
        ListAll(NativeMethods.virConnectListAllDomains, p => new Domain(DomainHandle.Own(p)), "virConnectListAllDomains");

    /// <summary>Every network filter.</summary>
    public IReadOnlyList<NetworkFilter> ListNetworkFilters() =>
        ListAll(NativeMethods.virConnectListAllNWFilters, p => new NetworkFilter(NetworkFilterHandle.Own(p)), "virConnectListAllNWFilters");

    private delegate int AllLister(ConnectHandle conn, out nint array, uint flags);

    /// <summary>Calls a virConnectListAll* function: each pointer of the array it allocates is owned by an object, the array freed.</summary>
    private List<T> ListAll<T>(AllLister list, Func<nint, T> own, string operation)
    {
        var count = list(_handle, out var array, 0);
        if (count < 0)
            throw Libvirt.Error(operation);
        try
        {
            var items = new List<T>(count);
            for (var i = 0; i < count; i++)
                items.Add(own(Marshal.ReadIntPtr(array, i * nint.Size)));
            return items;
        }
        finally
        {
            NativeMethods.Free(array);
        }
    }

    /// <summary>The host's capabilities (its CPU among them), as libvirt's XML.</summary>
    public string GetCapabilities() => Libvirt.TakeString(NativeMethods.virConnectGetCapabilities(_handle)) ?? throw Libvirt.Error("virConnectGetCapabilities");

    /// <summary>What domains of <paramref name="virtType"/> ("kvm", "qemu") may use here, as libvirt's XML.</summary>
    public string GetDomainCapabilities(string virtType) =>
        Libvirt.TakeString(NativeMethods.virConnectGetDomainCapabilities(_handle, null, null, null, virtType, 0)) ?? throw Libvirt.Error("virConnectGetDomainCapabilities");

    /// <summary>A CPU definition with every feature it implies listed (virConnectBaselineHypervisorCPU of that one definition).</summary>
    public string ExpandCpu(string cpuXml, string virtType) =>
        Libvirt.TakeString(NativeMethods.virConnectBaselineHypervisorCPU(_handle, null, null, null, virtType, [cpuXml], 1, 1))
        ?? throw Libvirt.Error("virConnectBaselineHypervisorCPU");

    /// <summary>Starts a transient domain, paused, that libvirt destroys if this connection closes first. The caller destroys it.</summary>
    public Domain StartTransientPaused(string xml) => new(Required(NativeMethods.virDomainCreateXML(_handle, xml, 1 | 2), "start a transient domain"));

    /// <summary>Defines (or redefines) a domain from its XML.</summary>
    public Domain DefineDomain(string xml) => new(Required(NativeMethods.virDomainDefineXML(_handle, xml), "define domain"));

    /// <summary>Defines (or, same name, replaces) a network filter; libvirt re-applies it to the interfaces using it.</summary>
    public NetworkFilter DefineNetworkFilter(string xml) => new(Required(NativeMethods.virNWFilterDefineXML(_handle, xml), "define network filter"));

    /// <summary>The network filter with this name, or null.</summary>
    public NetworkFilter? FindNetworkFilter(string name) =>
        Optional(NativeMethods.virNWFilterLookupByName(_handle, name)) is { } handle ? new NetworkFilter(handle) : null;

    /// <summary>The domain with this UUID, or null.</summary>
    public Domain? FindDomain(string uuid) =>
        Optional(NativeMethods.virDomainLookupByUUIDString(_handle, uuid)) is { } handle ? new Domain(handle) : null;

    /// <summary>A handle libvirt must have returned; a null one becomes libvirt's error.</summary>
    private static THandle Required<THandle>(THandle handle, string operation) where THandle : SafeHandle
    {
        if (!handle.IsInvalid)
            return handle;
        handle.Dispose();
        throw Libvirt.Error(operation);
    }

    /// <summary>A handle of a lookup: null when libvirt found nothing (its error is cleared).</summary>
    private static THandle? Optional<THandle>(THandle handle) where THandle : SafeHandle
    {
        if (!handle.IsInvalid)
            return handle;
        handle.Dispose();
        NativeMethods.virResetLastError();
        return null;
    }

    /// <summary>Calls <paramref name="handler"/> (on libvirt's event thread) for every lifecycle event; dispose the result to stop.</summary>
    public IDisposable SubscribeLifecycle(Action<DomainLifecycleEvent> handler)
    {
        var target = GCHandle.Alloc(handler);
        int id;
        unsafe
        {
            id = NativeMethods.virConnectDomainEventRegisterAny(_handle, nint.Zero, LifecycleEventId,
                (nint)(delegate* unmanaged[Cdecl]<nint, nint, int, int, nint, int>)&OnLifecycle, GCHandle.ToIntPtr(target), nint.Zero);
        }
        if (id < 0)
        {
            target.Free();
            throw Libvirt.Error("subscribe to lifecycle events");
        }
        _subscriptions[id] = target;
        return new Subscription(this, id);
    }

    public void Dispose()
    {
        foreach (var id in _subscriptions.Keys)
            Unsubscribe(id);
        _handle.Dispose();
    }

    private void Unsubscribe(int id)
    {
        if (!_subscriptions.TryRemove(id, out var target))
            return;
        NativeMethods.virConnectDomainEventDeregisterAny(_handle, id);
        target.Free();
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnLifecycle(nint conn, nint dom, int eventType, int detail, nint opaque)
    {
        try
        {
            if (GCHandle.FromIntPtr(opaque).Target is Action<DomainLifecycleEvent> handler)
            {
                using var domain = new Domain(DomainHandle.Borrow(dom));
                handler(new DomainLifecycleEvent(domain.Uuid, domain.Name, (DomainLifecycle)eventType, detail));
            }
        }
        catch (Exception)
        {
            // An exception must not cross into libvirt's C stack; handlers report their own failures.
        }
        return 0;
    }

    private sealed class Subscription(Connection owner, int id) : IDisposable
    {
        public void Dispose() => owner.Unsubscribe(id);
    }
}
