using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Nano.Cell;

/// <summary>
/// The agent's files on its host: what it creates is its owner's only (umask 077), and guests' QEMU, which runs as an
/// unprivileged user (libvirt's DAC driver hands it each guest's own files when the guest starts), may pass through
/// the folders those files live in, and do nothing else there.
/// </summary>
public static class HostFiles
{
    /// <summary>The user libvirt runs QEMU as (tools/lib/prereqs.sh writes it into qemu.conf).</summary>
    public const string DefaultQemuUser = "libvirt-qemu";

    /// <summary>No permission for group or others on anything created from now on (umask 077).</summary>
    public static void RestrictNewFiles()
    {
        if (!OperatingSystem.IsWindows())
            _ = umask(Convert.ToUInt32("077", 8));
    }

    /// <summary>
    /// Creates <paramref name="folder"/> if missing and lets <paramref name="qemuUser"/> pass through it: the folder and
    /// a parent that lets nobody in (a folder made by mktemp -d) get an access entry for that one user, nothing more.
    /// Returns "" or why QEMU cannot reach files there, naming a folder further up that blocks the way (left as it is).
    /// An empty user, or root, means QEMU runs as root: nothing to do.
    /// </summary>
    public static string LetQemuIn(string folder, string qemuUser)
    {
        var full = Path.GetFullPath(folder);
        Directory.CreateDirectory(full);
        if (qemuUser is "" or "root" || OperatingSystem.IsWindows())
            return "";
        foreach (var own in new[] { Path.GetDirectoryName(full), full })
        {
            if (own is not null && !Can(qemuUser, own))
                Run("setfacl", "-m", $"u:{qemuUser}:x", own);
        }
        if (Can(qemuUser, full))
            return "";
        var blocking = full;
        for (var above = Path.GetDirectoryName(full); above is not null; above = Path.GetDirectoryName(above))
        {
            if (!Can(qemuUser, above))
                blocking = above;
        }
        return $"guests' QEMU runs as user '{qemuUser}', which cannot reach {full} ({blocking} does not let it in): " +
            "choose a folder whose parent folders others may enter (chmod o+x)";
    }

    private static bool Can(string user, string folder) => Run("runuser", "-u", user, "--", "test", "-x", folder) == 0;

    private static int Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(info)!;
            process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            return process.WaitForExit(TimeSpan.FromSeconds(10)) ? process.ExitCode : -1;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

#pragma warning disable SYSLIB1054 // one blittable call at start-up: no generated marshalling (and no unsafe code) needed
    [DllImport("libc", EntryPoint = "umask")]
    private static extern uint umask(uint mask);
#pragma warning restore SYSLIB1054
}
