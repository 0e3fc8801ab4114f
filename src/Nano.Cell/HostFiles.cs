using System.Runtime.InteropServices;

namespace Nano.Cell;

/// <summary>The agent's file-creation mask: files it (and what it runs) creates are its owner's only.</summary>
public static class HostFiles
{
    /// <summary>No permission for group or others on anything created from now on (umask 077).</summary>
    public static void RestrictNewFiles()
    {
        if (!OperatingSystem.IsWindows())
            _ = umask(Convert.ToUInt32("077", 8));
    }

#pragma warning disable SYSLIB1054 // one blittable call at start-up: no generated marshalling (and no unsafe code) needed
    [DllImport("libc", EntryPoint = "umask")]
    private static extern uint umask(uint mask);
#pragma warning restore SYSLIB1054
}
