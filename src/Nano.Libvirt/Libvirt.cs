using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Nano.Libvirt.Native;

namespace Nano.Libvirt;

/// <summary>
/// Process-wide libvirt set-up: a silent error handler (errors are read back and thrown), and the
/// default event loop on a thread of its own, registered before the first connection opens.
/// </summary>
public static class Libvirt
{
    private static readonly Lock Gate = new();
    private static bool _initialised;

    internal static void EnsureInitialised()
    {
        lock (Gate)
        {
            if (_initialised)
                return;
            unsafe
            {
                NativeMethods.virSetErrorFunc(nint.Zero, (nint)(delegate* unmanaged[Cdecl]<nint, nint, void>)&SilentErrorHandler);
            }
            if (NativeMethods.virEventRegisterDefaultImpl() < 0)
                throw Error("virEventRegisterDefaultImpl");
            var loop = new Thread(RunEventLoop) { IsBackground = true, Name = "libvirt-events" };
            loop.Start();
            _initialised = true;
        }
    }

    /// <summary>The last libvirt error of this thread as an exception.</summary>
    internal static LibvirtException Error(string operation)
    {
        var message = Marshal.PtrToStringUTF8(NativeMethods.virGetLastErrorMessage()) ?? "unknown libvirt error";
        NativeMethods.virResetLastError();
        return new LibvirtException(operation, message);
    }

    internal static void Check(int result, string operation)
    {
        if (result < 0)
            throw Error(operation);
    }

    /// <summary>Reads and frees a char* the caller owns.</summary>
    internal static string? TakeString(nint pointer)
    {
        if (pointer == nint.Zero)
            return null;
        try
        {
            return Marshal.PtrToStringUTF8(pointer);
        }
        finally
        {
            NativeMethods.Free(pointer);
        }
    }

    private static void RunEventLoop()
    {
        while (true)
            NativeMethods.virEventRunDefaultImpl();
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void SilentErrorHandler(nint userData, nint error)
    {
    }
}
