using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Storage;

/// <summary>
/// Where this cell keeps guest volumes: a local folder (default /var/lib/nano/images); the NFS export of
/// its compute pool's storage pool, mounted under the mount root; or the pool's shared folder, which every
/// cell of the pool already sees at the same path (the host mounts it). The local folder survives agent
/// restarts in a small state file.
/// </summary>
public sealed partial class CellStorageManager
{
    /// <summary>
    /// How exports are mounted: hard, so a guest's disk I/O waits for an NFS server that went away instead of failing
    /// (a soft mount hands guests I/O errors, which corrupt file systems); the mount itself gives up after a minute.
    /// </summary>
    public const string NfsOptions = "hard,timeo=100,retrans=3,retry=1";

    private static readonly TimeSpan MountTimeout = TimeSpan.FromSeconds(8);
    private readonly string _mountRoot;
    private readonly string _stateFile;
    private readonly string _qemuUser;
    private readonly Lock _gate = new();
    private string _localPath;
    /// <summary>The storage pool in use, its type and folder; null for local storage.</summary>
    private (string Pool, string Type, string Path)? _shared;

    public CellStorageManager(string defaultPath, string mountRoot, string stateFile, string qemuUser = HostFiles.DefaultQemuUser)
    {
        _qemuUser = qemuUser;
        _mountRoot = mountRoot;
        _stateFile = stateFile;
        _localPath = ReadState() ?? defaultPath;
        var unreachable = HostFiles.LetQemuIn(_localPath, _qemuUser);
        if (unreachable.Length > 0)
            throw new InvalidOperationException(unreachable);
    }

    /// <summary>The folder new volumes go to now.</summary>
    public string CurrentPath
    {
        get
        {
            lock (_gate)
                return _shared?.Path ?? _localPath;
        }
    }

    /// <summary>"local", "nfs" or "shared".</summary>
    public string Mode
    {
        get
        {
            lock (_gate)
                return _shared?.Type ?? "local";
        }
    }

    public CellStorage Describe(long total, long available)
    {
        lock (_gate)
        {
            var path = _shared?.Path ?? _localPath;
            return new CellStorage { Mode = _shared?.Type ?? "local", System = { path }, Data = { path }, Total = total, Available = available };
        }
    }

    /// <summary>Local storage (empty pool), mount the pool's NFS export, or check its shared folder. Returns an error text, or "".</summary>
    public async Task<string> AttachAsync(AttachStorage attach, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(attach.Pool))
            return HostFiles.LetQemuIn(_localPath, _qemuUser);
        if (attach.Type == "shared")
            return UseSharedFolder(attach.Pool, attach.Target);
        if (attach.Type != "nfs")
            return $"unsupported storage type '{attach.Type}'";
        // What reaches a mount point's path and mount's arguments is checked here too, whoever sent it.
        if (!PoolPattern().IsMatch(attach.Pool) || !HostPattern().IsMatch(attach.Host) || !ExportPattern().IsMatch(attach.Target) ||
            attach.Target.Split('/').Any(s => s is "." or ".."))
            return $"refused storage pool '{attach.Pool}' at '{attach.Host}:{attach.Target}': a name, a host name and an absolute path are expected";
        var mountPoint = MountPoint(attach.Pool);
        var unreachable = HostFiles.LetQemuIn(mountPoint, _qemuUser);
        if (unreachable.Length > 0)
            return unreachable;
        if (!IsMounted(mountPoint))
        {
            var (ok, output) = await RunAsync("mount", ["-t", "nfs", "-o", NfsOptions, $"{attach.Host}:{attach.Target}", mountPoint], cancellationToken);
            if (!ok)
                return $"mount {attach.Host}:{attach.Target} failed: {output}";
        }
        unreachable = HostFiles.LetQemuIn(mountPoint, _qemuUser); // now the export's own folder
        if (unreachable.Length > 0)
            return unreachable;
        lock (_gate)
            _shared = (attach.Pool, "nfs", mountPoint);
        return "";
    }

    /// <summary>A shared folder is used where it is: it must exist on this host and take files.</summary>
    private string UseSharedFolder(string pool, string folder)
    {
        if (!Path.IsPathFullyQualified(folder) || !Directory.Exists(folder))
            return $"the shared folder {folder} does not exist on this cell";
        var unreachable = HostFiles.LetQemuIn(folder, _qemuUser);
        if (unreachable.Length > 0)
            return unreachable;
        var probe = Path.Combine(folder, $".nano-probe-{Guid.NewGuid():N}");
        try
        {
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"the shared folder {folder} takes no files: {e.Message}";
        }
        lock (_gate)
            _shared = (pool, "shared", folder);
        return "";
    }

    public async Task DetachAsync(string pool, CancellationToken cancellationToken)
    {
        var mountPoint = MountPoint(pool);
        if (IsMounted(mountPoint))
            await RunAsync("umount", ["-l", mountPoint], cancellationToken);
        lock (_gate)
        {
            if (_shared?.Pool == pool)
                _shared = null;
        }
    }

    /// <summary>Moves the default local folder: the old one must hold no volumes, the new one must be empty.</summary>
    public string ChangeLocalPath(string path)
    {
        lock (_gate)
        {
            if (_shared is not null)
                return "the cell uses shared storage";
            if (!Path.IsPathFullyQualified(path))
                return $"'{path}' is not an absolute path";
            if (Path.GetFullPath(path).TrimEnd('/') == Path.GetFullPath(_localPath).TrimEnd('/'))
                return $"'{path}' is already the default path";
            if (Directory.Exists(_localPath) && Directory.EnumerateFileSystemEntries(_localPath).Any())
                return $"the current folder {_localPath} still holds volumes";
            if (Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any())
                return $"'{path}' is not empty";
            var unreachable = HostFiles.LetQemuIn(path, _qemuUser);
            if (unreachable.Length > 0)
                return unreachable;
            _localPath = path;
            WriteState();
            return "";
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex PoolPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")]
    private static partial Regex HostPattern();

    [GeneratedRegex("^/[A-Za-z0-9._+/-]{0,1023}$")]
    private static partial Regex ExportPattern();

    private string MountPoint(string pool) => Path.Combine(_mountRoot, pool);

    private static bool IsMounted(string mountPoint) =>
        File.Exists("/proc/mounts") && File.ReadLines("/proc/mounts").Any(l => l.Split(' ') is [_, var target, ..] && target == mountPoint);

    private string? ReadState()
    {
        try
        {
            return File.Exists(_stateFile) ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(_stateFile))?.GetValueOrDefault("local_path") : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void WriteState()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_stateFile))!);
        File.WriteAllText(_stateFile, JsonSerializer.Serialize(new Dictionary<string, string> { ["local_path"] = _localPath }));
    }

    private static async Task<(bool Ok, string Output)> RunAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(info)!;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(MountTimeout);
            var output = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (false, $"no answer within {MountTimeout.TotalSeconds:0} s");
            }
            return (process.ExitCode == 0, (await output).Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, e.Message);
        }
    }
}
