using System.Runtime.InteropServices;

namespace Nano.Libvirt.Native;

/// <summary>
/// The libvirt C functions the binding uses. A const char* result is declared nint and read with
/// Marshal.PtrToStringUTF8 (libvirt owns it); a char* the caller must free is freed with <see cref="Free"/>.
/// </summary>
internal static partial class NativeMethods
{
    private const string Lib = "libvirt.so.0";

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate void ErrorFunc(nint userData, nint error);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate int LifecycleCallback(nint conn, nint dom, int eventType, int detail, nint opaque);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial ConnectHandle virConnectOpen(string? name);

    [LibraryImport(Lib)]
    internal static partial int virConnectClose(nint conn);

    [LibraryImport(Lib)]
    internal static partial int virConnectGetVersion(ConnectHandle conn, out nuint version);

    [LibraryImport(Lib)]
    internal static partial int virConnectGetLibVersion(ConnectHandle conn, out nuint version);

    [LibraryImport(Lib)]
    internal static partial nint virConnectGetHostname(ConnectHandle conn);

    [LibraryImport(Lib)]
    internal static partial nint virConnectGetType(ConnectHandle conn);

    [LibraryImport(Lib)]
    internal static partial int virConnectIsAlive(ConnectHandle conn);

    [LibraryImport(Lib)]
    internal static partial int virConnectSetKeepAlive(ConnectHandle conn, int interval, uint count);

    [LibraryImport(Lib)]
    internal static partial int virNodeGetInfo(ConnectHandle conn, out NodeInfoNative info);

    [LibraryImport(Lib)]
    internal static partial ulong virNodeGetFreeMemory(ConnectHandle conn);

    [LibraryImport(Lib)]
    internal static partial int virConnectListAllDomains(ConnectHandle conn, out nint domains, uint flags);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainHandle virDomainDefineXML(ConnectHandle conn, string xml);

    /// <summary>Starts a transient domain (flags: VIR_DOMAIN_START_PAUSED 1, VIR_DOMAIN_START_AUTODESTROY 2).</summary>
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainHandle virDomainCreateXML(ConnectHandle conn, string xml, uint flags);

    /// <summary>The host's capabilities XML (the caller frees it).</summary>
    [LibraryImport(Lib)]
    internal static partial nint virConnectGetCapabilities(ConnectHandle conn);

    /// <summary>What the hypervisor offers domains of a virtualization type (the caller frees it).</summary>
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint virConnectGetDomainCapabilities(ConnectHandle conn, string? emulatorbin, string? arch, string? machine, string? virttype, uint flags);

    /// <summary>The CPU definition every given one can run (flag VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES 1 lists its features).</summary>
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint virConnectBaselineHypervisorCPU(ConnectHandle conn, string? emulator, string? arch, string? machine, string? virttype,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPUTF8Str)] string[] xmlCPUs, uint ncpus, uint flags);

    /// <summary>Returns the domain on the destination (a new reference), or 0.</summary>
    [LibraryImport(Lib)]
    internal static partial nint virDomainMigrate3(DomainHandle domain, ConnectHandle dconn, nint parameters, uint nparams, uint flags);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virTypedParamsAddString(ref nint parameters, ref int nparams, ref int maxparams, string name, string value);

    [LibraryImport(Lib)]
    internal static partial void virTypedParamsFree(nint parameters, int nparams);

    [LibraryImport(Lib)]
    internal static partial int virDomainGetJobInfo(DomainHandle dom, out JobInfoNative info);

    [LibraryImport(Lib)]
    internal static partial int virDomainAbortJob(DomainHandle dom);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainHandle virDomainLookupByUUIDString(ConnectHandle conn, string uuid);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial DomainHandle virDomainLookupByName(ConnectHandle conn, string name);

    [LibraryImport(Lib)]
    internal static partial int virDomainRef(nint dom);

    [LibraryImport(Lib)]
    internal static partial int virDomainFree(nint dom);

    [LibraryImport(Lib)]
    internal static partial nint virDomainGetName(DomainHandle dom);

    [LibraryImport(Lib)]
    internal static partial int virDomainGetUUIDString(DomainHandle dom, Span<byte> buffer);

    [LibraryImport(Lib)]
    internal static partial int virDomainGetInfo(DomainHandle dom, out DomainInfoNative info);

    [LibraryImport(Lib)]
    internal static partial int virDomainGetState(DomainHandle dom, out int state, out int reason, uint flags);

    [LibraryImport(Lib)]
    internal static partial nint virDomainGetXMLDesc(DomainHandle dom, uint flags);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainUpdateDeviceFlags(DomainHandle dom, string xml, uint flags);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial NetworkFilterHandle virNWFilterDefineXML(ConnectHandle conn, string xml);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial NetworkFilterHandle virNWFilterLookupByName(ConnectHandle conn, string name);

    [LibraryImport(Lib)]
    internal static partial int virNWFilterUndefine(NetworkFilterHandle filter);

    [LibraryImport(Lib)]
    internal static partial nint virNWFilterGetXMLDesc(NetworkFilterHandle filter, uint flags);

    [LibraryImport(Lib)]
    internal static partial int virNWFilterFree(nint filter);

    [LibraryImport(Lib)]
    internal static partial int virConnectListAllNWFilters(ConnectHandle conn, out nint filters, uint flags);

    [LibraryImport(Lib)]
    internal static partial nint virNWFilterGetName(NetworkFilterHandle filter);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint virDomainGetMetadata(DomainHandle dom, int type, string? uri, uint flags);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainBlockStats(DomainHandle dom, string disk, out BlockStatsNative stats, nuint size);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainInterfaceStats(DomainHandle dom, string device, out InterfaceStatsNative stats, nuint size);

    [LibraryImport(Lib)]
    internal static partial int virDomainCreate(DomainHandle dom);

    [LibraryImport(Lib)]
    internal static partial int virDomainDestroy(DomainHandle dom);

    [LibraryImport(Lib)]
    internal static partial int virDomainShutdown(DomainHandle dom);

    [LibraryImport(Lib)]
    internal static partial int virDomainReboot(DomainHandle dom, uint flags);

    [LibraryImport(Lib)]
    internal static partial int virDomainUndefineFlags(DomainHandle dom, uint flags);

    [LibraryImport(Lib)]
    internal static partial int virDomainReset(DomainHandle dom, uint flags);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int virDomainSetUserPassword(DomainHandle dom, string user, string password, uint flags);

    [LibraryImport(Lib)]
    internal static partial int virDomainSetAutostart(DomainHandle dom, int autostart);

    [LibraryImport(Lib)]
    internal static partial int virDomainGetAutostart(DomainHandle dom, out int autostart);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SnapshotHandle virDomainSnapshotCreateXML(DomainHandle dom, string xml, uint flags);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial SnapshotHandle virDomainSnapshotLookupByName(DomainHandle dom, string name, uint flags);

    [LibraryImport(Lib)]
    internal static partial int virDomainRevertToSnapshot(SnapshotHandle snapshot, uint flags);

    [LibraryImport(Lib)]
    internal static partial int virDomainSnapshotDelete(SnapshotHandle snapshot, uint flags);

    [LibraryImport(Lib)]
    internal static partial int virDomainSnapshotFree(nint snapshot);

    [LibraryImport(Lib)]
    internal static partial int virEventRegisterDefaultImpl();

    [LibraryImport(Lib)]
    internal static partial int virEventRunDefaultImpl();

    [LibraryImport(Lib)]
    internal static partial int virConnectDomainEventRegisterAny(ConnectHandle conn, nint dom, int eventId, nint callback, nint opaque, nint freeCallback);

    [LibraryImport(Lib)]
    internal static partial int virConnectDomainEventDeregisterAny(ConnectHandle conn, int callbackId);

    [LibraryImport(Lib)]
    internal static partial void virSetErrorFunc(nint userData, nint handler);

    [LibraryImport(Lib)]
    internal static partial nint virGetLastErrorMessage();

    [LibraryImport(Lib)]
    internal static partial void virResetLastError();

    [LibraryImport("libc", EntryPoint = "free")]
    internal static partial void Free(nint pointer);

    /// <summary>virNodeInfo: memory in KiB.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct NodeInfoNative
    {
        public fixed byte Model[32];
        public nuint Memory;
        public uint Cpus;
        public uint Mhz;
        public uint Nodes;
        public uint Sockets;
        public uint Cores;
        public uint Threads;
    }

    /// <summary>virDomainBlockStatsStruct: cumulative counters of one disk (-1 when unknown).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct BlockStatsNative
    {
        public long ReadRequests;
        public long ReadBytes;
        public long WriteRequests;
        public long WriteBytes;
        public long Errors;
    }

    /// <summary>virDomainInterfaceStatsStruct: cumulative counters of one network interface (-1 when unknown).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct InterfaceStatsNative
    {
        public long ReceivedBytes;
        public long ReceivedPackets;
        public long ReceiveErrors;
        public long ReceiveDrops;
        public long SentBytes;
        public long SentPackets;
        public long SendErrors;
        public long SendDrops;
    }

    /// <summary>virDomainJobInfo: the progress of a job (a migration) in bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct JobInfoNative
    {
        public int Type;
        public ulong TimeElapsed;
        public ulong TimeRemaining;
        public ulong DataTotal;
        public ulong DataProcessed;
        public ulong DataRemaining;
        public ulong MemTotal;
        public ulong MemProcessed;
        public ulong MemRemaining;
        public ulong FileTotal;
        public ulong FileProcessed;
        public ulong FileRemaining;
    }

    /// <summary>virDomainInfo: memory in KiB, CPU time in nanoseconds.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct DomainInfoNative
    {
        public byte State;
        public nuint MaxMem;
        public nuint Memory;
        public ushort NrVirtCpu;
        public ulong CpuTime;
    }
}
