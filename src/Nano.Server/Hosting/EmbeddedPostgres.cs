using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Npgsql;

namespace Nano.Server.Hosting;

/// <summary>
/// A private PostgreSQL cluster in a folder, reached over a Unix socket in that folder only. It is durable
/// (fsync on) unless made for tests or benchmarks, and always runs with the binaries of the major version
/// that made it (PG_VERSION): a newer PostgreSQL on the host does not open an older cluster.
/// initdb refuses to run as root, so as root the cluster belongs to the system user "postgres". No other local
/// account gets in: the folder that holds the socket is the cluster user's alone (0700), and every connection
/// authenticates with a password (SCRAM) kept in that folder, readable by the cluster's user and root only.
/// </summary>
public sealed partial class EmbeddedPostgres(string root, bool fsync = true) : IAsyncDisposable
{
    private const int Port = 5432;
    private const string Installed = "/usr/lib/postgresql";
    private readonly string _root = Path.GetFullPath(root);
    private string _bin = "";
    private bool _started;

    private string DataPath => Path.Combine(_root, "data");

    /// <summary>The cluster's password alone (what initdb reads).</summary>
    private string PasswordFile => Path.Combine(_root, "password");

    /// <summary>The same password as a pgpass line, which connections read when they open (it may not exist before the cluster starts).</summary>
    private string PassFile => Path.Combine(_root, "pgpass");

    private string _password = "";

    /// <summary>Connection string of the cluster's "postgres" database; the password comes from the pgpass file.</summary>
    public string ConnectionString => $"Host={_root};Port={Port};Username=postgres;Passfile={PassFile};Database=postgres;Pooling=true";

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_root);
        var versionFile = Path.Combine(DataPath, "PG_VERSION");
        var existing = File.Exists(versionFile) ? File.ReadAllText(versionFile).Trim() : null;
        _bin = FindBinaries(existing, DataPath);
        if (Environment.UserName == "root")
        {
            await EnsureSystemUserAsync(cancellationToken);
            await RunAsync("chown", ["postgres:postgres", _root], asPostgres: false, cancellationToken);
            await LetPostgresInAsync(cancellationToken);
        }
        await RunAsync("chmod", ["0700", _root], asPostgres: false, cancellationToken);
        await EnsurePasswordAsync(cancellationToken);
        if (existing is null)
        {
            await RunAsync(Path.Combine(_bin, "initdb"),
                ["-D", DataPath, "-U", "postgres", "--auth=scram-sha-256", "--pwfile", PasswordFile, "--no-instructions", "-E", "UTF8", "--locale=C"],
                asPostgres: true, cancellationToken);
        }
        if (File.Exists(Path.Combine(DataPath, "postmaster.pid")))
        {
            // A previous run died without stopping its cluster: stop what may still run.
            await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataPath, "-m", "immediate", "-w", "stop"],
                asPostgres: true, cancellationToken, allowFailure: true);
        }
        // Room for three replicas (nano up --replicas 3): each pools up to 100 connections and keeps two of its own.
        var options = $"-p {Port} -k {_root} -c listen_addresses='' -c max_connections=400" + (fsync ? "" : " -c fsync=off");
        await RunAsync(Path.Combine(_bin, "pg_ctl"),
            ["-D", DataPath, "-w", "-l", Path.Combine(_root, "postgres.log"), "-o", options, "start"],
            asPostgres: true, cancellationToken);
        _started = true;
        await RequirePasswordsAsync(cancellationToken);
    }

    /// <summary>The cluster's password: made once (32 random characters), kept in the data folder for the cluster's user only.</summary>
    private async Task EnsurePasswordAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(PasswordFile))
        {
            await WritePrivateAsync(PasswordFile, RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 32),
                cancellationToken);
        }
        _password = (await File.ReadAllTextAsync(PasswordFile, cancellationToken)).Trim();
        await WritePrivateAsync(PassFile, $"*:*:*:postgres:{_password}\n", cancellationToken);
    }

    /// <summary>Writes a file only the cluster's user (and root) may read.</summary>
    private static async Task WritePrivateAsync(string path, string content, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(path, content, cancellationToken);
        await RunAsync("chmod", ["0600", path], asPostgres: false, cancellationToken);
        if (Environment.UserName == "root")
            await RunAsync("chown", ["postgres:postgres", path], asPostgres: false, cancellationToken);
    }

    /// <summary>
    /// A cluster made before passwords were required (it trusted every local connection) gets the password and asks
    /// for it from now on: its pg_hba.conf lines change from trust to scram-sha-256 and the cluster reloads them.
    /// </summary>
    private async Task RequirePasswordsAsync(CancellationToken cancellationToken)
    {
        var hba = Path.Combine(DataPath, "pg_hba.conf");
        var rules = await File.ReadAllLinesAsync(hba, cancellationToken);
        if (!rules.Any(TrustRule().IsMatch))
            return;
        var trusting = new NpgsqlConnectionStringBuilder(ConnectionString) { Passfile = null, Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(trusting))
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"ALTER ROLE postgres PASSWORD '{_password}'", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await File.WriteAllLinesAsync(hba, rules.Select(rule => TrustRule().Replace(rule, "${rule}scram-sha-256")), cancellationToken);
        await RunAsync(Path.Combine(_bin, "pg_ctl"), ["-D", DataPath, "reload"], asPostgres: true, cancellationToken);
    }

    [GeneratedRegex(@"^(?<rule>\s*(local|host\w*)\s.*\s)trust\s*$")]
    private static partial Regex TrustRule();

    /// <summary>Whether the cluster was started here and not stopped since.</summary>
    public bool Started => _started;

    /// <summary>Whether the cluster's postmaster process is alive (its pid file names a running process).</summary>
    public bool IsRunning()
    {
        var pidFile = Path.Combine(DataPath, "postmaster.pid");
        try
        {
            var first = File.ReadLines(pidFile).FirstOrDefault();
            return int.TryParse(first, out var pid) && Directory.Exists($"/proc/{pid}");
        }
        catch (IOException)
        {
            return false;
        }
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

    /// <summary>
    /// The folder of pg_ctl and initdb: of the cluster's own major version when it exists, else the newest installed.
    /// Debian installs each major version beside the others, in /usr/lib/postgresql/&lt;major&gt;/bin.
    /// </summary>
    internal static string FindBinaries(string? major, string dataPath, string installed = Installed)
    {
        if (major is not null)
        {
            var own = Path.Combine(installed, major, "bin");
            return File.Exists(Path.Combine(own, "pg_ctl")) ? own : throw new InvalidOperationException(
                $"the database in {dataPath} was made by PostgreSQL {major}, whose server binaries ({own}) are not installed: " +
                $"install the Debian package postgresql-{major} (a newer PostgreSQL cannot open it without pg_upgrade)");
        }
        var newest = Directory.Exists(installed)
            ? Directory.GetDirectories(installed)
                .Where(d => int.TryParse(Path.GetFileName(d), out _) && File.Exists(Path.Combine(d, "bin", "pg_ctl")))
                .OrderByDescending(d => int.Parse(Path.GetFileName(d)))
                .FirstOrDefault()
            : null;
        return newest is not null ? Path.Combine(newest, "bin") : throw new InvalidOperationException(
            $"PostgreSQL server binaries (pg_ctl, initdb) were not found in {installed}/*/bin: install the Debian package postgresql, or set Nano:Database");
    }

    /// <summary>
    /// The user "postgres" must reach the cluster's folder. A parent only root may enter (a data folder made by
    /// mktemp -d) gets an access entry letting that one user through, nothing more; a folder above it that
    /// blocks the way is named, not changed.
    /// </summary>
    private async Task LetPostgresInAsync(CancellationToken cancellationToken)
    {
        var parent = Path.GetDirectoryName(_root)!;
        if (!await PostgresCanAsync("-x", parent, cancellationToken))
            await RunAsync("setfacl", ["-m", "u:postgres:x", parent], asPostgres: false, cancellationToken, allowFailure: true);
        if (await PostgresCanAsync("-w", _root, cancellationToken))
            return;
        var blocking = _root;
        for (var folder = Path.GetDirectoryName(_root); folder is not null; folder = Path.GetDirectoryName(folder))
        {
            if (!await PostgresCanAsync("-x", folder, cancellationToken))
                blocking = folder;
        }
        throw new InvalidOperationException(
            $"the PostgreSQL cluster runs as user 'postgres', which cannot reach {_root} ({blocking} does not let it in): " +
            "choose a data folder whose parent folders others may enter (chmod o+x), or set Nano:Database");
    }

    private static async Task<bool> PostgresCanAsync(string test, string path, CancellationToken cancellationToken) =>
        (await RunProcessAsync("runuser", ["-u", "postgres", "--", "test", test, path], cancellationToken)).ExitCode == 0;

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
