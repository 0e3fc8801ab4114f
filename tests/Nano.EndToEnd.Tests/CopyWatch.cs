using System.Diagnostics;
using Nano.Libvirt;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// Watches one guest in two libvirtds every 100 ms, from its creation: when its copy in the first (the old cell) first
/// stops running, when its copy in the second (the new cell) first runs, and how often both ran at once.
/// </summary>
public sealed class CopyWatch : IAsyncDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _watching;
    private long _oldStopped = -1, _newStarted = -1;
    private int _together;

    public CopyWatch(string guest, string oldUri, string newUri) => _watching = Task.Run(() => WatchAsync(guest, oldUri, newUri));

    public long Now => _clock.ElapsedMilliseconds;

    /// <summary>Milliseconds from the start until the old copy was first seen not running; -1 while it runs.</summary>
    public long OldStopped => Volatile.Read(ref _oldStopped);

    /// <summary>Milliseconds from the start until the new copy was first seen running; -1 until then.</summary>
    public long NewStarted => Volatile.Read(ref _newStarted);

    /// <summary>How many looks saw both copies running.</summary>
    public int Together => Volatile.Read(ref _together);

    private async Task WatchAsync(string guest, string oldUri, string newUri)
    {
        using var old = Connection.Open(oldUri);
        using var @new = Connection.Open(newUri);
        while (!_stop.IsCancellationRequested)
        {
            bool Runs(Connection libvirt)
            {
                using var domain = libvirt.FindDomain(guest);
                return domain?.GetState() == DomainState.Running;
            }
            var (onOld, onNew) = (Runs(old), Runs(@new));
            if (!onOld && _oldStopped < 0)
                Volatile.Write(ref _oldStopped, Now);
            if (onNew && _newStarted < 0)
                Volatile.Write(ref _newStarted, Now);
            if (onOld && onNew)
                Interlocked.Increment(ref _together);
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _watching;
        _stop.Dispose();
    }
}

/// <summary>Who holds a disk's lease: virtlockd's lock on the disk file's first byte, as the kernel lists it in /proc/locks.</summary>
public static class DiskLease
{
    /// <summary>The process holding a write lock on byte 0 of <paramref name="file"/>, or null.</summary>
    public static int? HolderOf(string file)
    {
        // "12: POSIX  ADVISORY  WRITE 19944 fe:00:12271707 0 0"; waiters are listed with "->" and hold nothing.
        foreach (var fields in LocksOn(file))
        {
            if (fields.Length == 8 && fields[1] == "POSIX" && fields[3] == "WRITE" && fields[6] == "0")
                return int.Parse(fields[4]);
        }
        return null;
    }

    /// <summary>Every lock the kernel lists on <paramref name="file"/>, for a failure's message.</summary>
    public static string Describe(string file) =>
        $"{(File.Exists(file) ? "" : "(no such file) ")}locks on it: [{string.Join("; ", LocksOn(file).Select(f => string.Join(' ', f)))}]";

    private static IEnumerable<string[]> LocksOn(string file)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%i", file]) { RedirectStandardOutput = true })!;
        var inode = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return File.ReadAllLines("/proc/locks").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => inode.Length > 0 && f.Any(x => x.EndsWith($":{inode}"))).ToList();
    }

    /// <summary>The file of the guest's first disk in <paramref name="libvirt"/>'s domain.</summary>
    public static string SystemDiskOf(Connection libvirt, string guest)
    {
        using var domain = libvirt.FindDomain(guest)!;
        return System.Xml.Linq.XElement.Parse(domain.GetXml()).Element("devices")!.Elements("disk")
            .First(d => (string?)d.Attribute("device") == "disk").Element("source")!.Attribute("file")!.Value;
    }
}
