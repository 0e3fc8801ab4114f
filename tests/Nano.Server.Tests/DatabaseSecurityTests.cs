using System.Diagnostics;
using Nano.Server.Hosting;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>
/// Security, the database (issue 13, item 8): the embedded cluster of <c>nano up</c> lets no other local account in.
/// Before, a data folder others may enter (as most are) exposed a socket that trusted every connection: any local user
/// connected as superuser, read the password hashes and live sessions, and ran programs as postgres.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DatabaseSecurityTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("nano-pg-sec-").FullName;
    private EmbeddedPostgres _cluster = null!;

    private string Root => Path.Combine(_folder, "postgres");

    public async Task InitializeAsync()
    {
        // A data folder others may enter, as a project folder or /var/lib/nano usually is.
        File.SetUnixFileMode(_folder, (UnixFileMode)Convert.ToInt32("755", 8));
        _cluster = new EmbeddedPostgres(Root);
        await _cluster.StartAsync().WaitAsync(TimeSpan.FromMinutes(1));
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void AnotherLocalAccount_CannotReachTheCluster()
    {
        var (exit, output) = Run("runuser", "-u", "nobody", "--", Psql(), "-h", Root, "-p", "5432", "-U", "postgres", "-d", "postgres", "-w", "-c", "SELECT 1");

        Assert.NotEqual(0, exit);
        Assert.Contains("Permission denied", output);
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(Root) & (UnixFileMode.GroupExecute | UnixFileMode.OtherExecute));
    }

    [Fact]
    public async Task AConnectionWithoutThePassword_IsRefused_EvenFromRoot()
    {
        var withoutPassword = new NpgsqlConnectionStringBuilder(_cluster.ConnectionString) { Passfile = null, Pooling = false }.ConnectionString;
        await using var refused = new NpgsqlConnection(withoutPassword);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => refused.OpenAsync());

        await using var admitted = new NpgsqlConnection(_cluster.ConnectionString + ";Pooling=false");
        await admitted.OpenAsync();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Root, "password")));
    }

    [Fact]
    public async Task AClusterThatTrustedEveryLocalConnection_AsksForThePassword_OnceStartedAgain()
    {
        await _cluster.StopAsync();
        var hba = Path.Combine(Root, "data", "pg_hba.conf");
        File.WriteAllLines(hba, File.ReadAllLines(hba).Select(line => line.Replace("scram-sha-256", "trust")));
        _cluster = new EmbeddedPostgres(Root);
        await _cluster.StartAsync().WaitAsync(TimeSpan.FromMinutes(1));

        Assert.DoesNotContain(File.ReadAllLines(hba), line => !line.TrimStart().StartsWith('#') && line.TrimEnd().EndsWith("trust", StringComparison.Ordinal));
        var withoutPassword = new NpgsqlConnectionStringBuilder(_cluster.ConnectionString) { Passfile = null, Pooling = false }.ConnectionString;
        await using var refused = new NpgsqlConnection(withoutPassword);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => refused.OpenAsync());
        await using var admitted = new NpgsqlConnection(_cluster.ConnectionString + ";Pooling=false");
        await admitted.OpenAsync();
    }

    private static string Psql() =>
        Directory.GetDirectories("/usr/lib/postgresql").Select(v => Path.Combine(v, "bin", "psql")).Where(File.Exists).Order(StringComparer.Ordinal).Last();

    private static (int Exit, string Output) Run(string file, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output);
    }
}
