using System.Diagnostics;

namespace Nano.Server.Hosting;

/// <summary>
/// A private PostgreSQL cluster in a folder, reached over a Unix socket in that folder only.
/// initdb refuses to run as root, so as root the cluster belongs to the system user "postgres".
/// </summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    private const int Port = 5432;
    private readonly string _root;
    private readonly string _bin;
    private bool _started;

    public EmbeddedPostgres(string root)
    {
        _root = Path.GetFullPath(root);
        _bin = FindBinaries();
    }

    private string DataPath => Path.Combine(_root, "data");

    /// <summary>Connection string of the cluster's "postgres" database.</summary>
    public string ConnectionString => $"Host={_root};Port={Port};Username=postgres;Database=postgres;Pooling=true";

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_root);
        if (Environment.UserName == "root")
        {
            await EnsureSystemUserAsync(cancellationToken);
            await RunAsync("chown", ["postgres:postgres", _root], asPostgres: false, cancellationToken);
            var reachable = await RunProcessAsync("runuser", ["-u", "postgres", "--", "test", "-w", _root], cancellationToken);
            if (reachable.ExitCode != 0)
                throw new InvalidOperationException(
                    $"the PostgreSQL cluster runs as user 'postgres', which cannot reach {_root}: choose a data folder whose parent folders others may enter (chmod o+x)");
        }
        if (!File.Exists(Path.Combine(DataPath, "PG_VERSION")))
        {
            await RunAsync(Path.Combine(_bin, "initdb"),
                ["-D", DataPath, "-U", "postgres", "--auth=trust", "--no-instructions", "-E", "UTF8", "--locale=C"],
                asPostgres: true, cancellationToken);
        }
        if (File.Exists(Path.Combine(DataPath, "postmaster.pid")))
        {
            // A previous run died without stopping its cluster: stop what may still run.
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataPath, "-m", "immediate", "-w", "stop"],
                asPostgres: true, cancellationToken, allowFailure: true);
        }
        var options = $"-p {Port} -k {_root} -c listen_addresses='' -c fsync=off -c max_connections=200";
        await RunAsync(Path.Combine(_bin, "pg_ctl"),
            ["-D", DataPath, "-w", "-l", Path.Combine(_root, "postgres.log"), "-o", options, "start"],
            asPostgres: true, cancellationToken);
        _started = true;
    }

    public async Task StopAsync()
    {
        if (!_started)
            return;
        _started = false;
        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataPath, "-m", "fast", "-w", "stop"],
            asPostgres: true, CancellationToken.None, allowFailure: true);
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private static string FindBinaries()
    {
        var fromPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "pg_ctl"))
            .FirstOrDefault(File.Exists);
        if (fromPath is not null)
            return Path.GetDirectoryName(Path.GetFullPath(new FileInfo(fromPath).ResolveLinkTarget(true)?.FullName ?? fromPath))!;
        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").OrderByDescending(d => d).Select(d => Path.Combine(d, "bin"))
                .FirstOrDefault(d => File.Exists(Path.Combine(d, "pg_ctl")))
            : null;
        return installed ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (pg_ctl, initdb) were not found on PATH nor in /usr/lib/postgresql/*/bin; install the postgresql package or set Nano:Database.");
    }

    private static async Task EnsureSystemUserAsync(CancellationToken cancellationToken)
    {
        var probe = await RunProcessAsync("id", ["-u", "postgres"], cancellationToken);
        if (probe.ExitCode != 0)
            await RunAsync("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], asPostgres: false, cancellationToken);
    }

    private static async Task RunAsync(string file, string[] args, bool asPostgres, CancellationToken cancellationToken, bool allowFailure = false)
    {
        if (asPostgres && Environment.UserName == "root")
        {
            args = ["-u", "postgres", "--", file, .. args];
            file = "runuser";
        }
        var result = await RunProcessAsync(file, args, cancellationToken);
        if (result.ExitCode != 0 && !allowFailure)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({result.ExitCode}): {result.Output}");
    }

    private static async Task<(int ExitCode, string Output)> RunProcessAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, (await stdout + await stderr).Trim());
    }
}
