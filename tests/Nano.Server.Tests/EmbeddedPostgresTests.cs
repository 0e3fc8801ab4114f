using Microsoft.Extensions.DependencyInjection;
using Nano.Server.Hosting;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>The embedded cluster of nano up: durable, in a data folder only root may enter, run by the binaries of its own major version.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EmbeddedPostgresTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("nano-pg-").FullName; // mode 0700, as mktemp -d makes it

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task ACluster_InAFolderOnlyItsOwnerMayEnter_StartsWithFsyncOn()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_folder));
        await using var cluster = new EmbeddedPostgres(Path.Combine(_folder, "postgres"));
        await cluster.StartAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await using var connection = new NpgsqlConnection(cluster.ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        await using var fsync = new NpgsqlCommand("SHOW fsync", connection);
        Assert.Equal("on", await fsync.ExecuteScalarAsync());
        await using var commit = new NpgsqlCommand("SHOW synchronous_commit", connection);
        Assert.Equal("on", await commit.ExecuteScalarAsync());
        // Nobody else was let into the data folder: only the one entry for the cluster's user, if any.
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(_folder) & (UnixFileMode.OtherExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite));
    }

    [Fact]
    public async Task TheConnectionString_TakenBeforeTheClusterStarts_ConnectsOnceItHas()
    {
        // The server builds its data source before the cluster (and its password) exist.
        await using var cluster = new EmbeddedPostgres(Path.Combine(_folder, "early"));
        var early = cluster.ConnectionString + ";Pooling=false";
        await cluster.StartAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await using var connection = new NpgsqlConnection(early);
        await connection.OpenAsync();
    }

    /// <summary>Issue 14, item 5: the embedded cluster is started again if it dies; requests answer 503 meanwhile, then work again.</summary>
    [Fact]
    public async Task AnEmbeddedClusterThatDies_IsStartedAgain_AndTheServerAnswersAgain()
    {
        var data = _folder; // the cluster in <data>/postgres, as nano up has it
        await using var server = await Nano.Testing.TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:Database"] = "", ["Nano:DataDir"] = data });
        var admin = await server.FirstRunAsync("compute_pool");
        Assert.Equal(0, (await server.Rest.GetAsync("/api/v1/compute_pools/", admin)).ErrorCode);
        var pidFile = Path.Combine(data, "postgres", "data", "postmaster.pid");
        var pid = int.Parse(File.ReadLines(pidFile).First());
        System.Diagnostics.Process.GetProcessById(pid).Kill();

        var answers = new List<int>();
        var back = System.Diagnostics.Stopwatch.StartNew();
        await Nano.Testing.Wait.ForAsync(async () =>
        {
            var answer = (await server.Rest.GetAsync("/api/v1/compute_pools/", admin)).ErrorCode;
            answers.Add(answer);
            return answer == 0 && File.Exists(pidFile) && int.Parse(File.ReadLines(pidFile).First()) != pid;
        }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        Assert.All(answers, a => Assert.True(a is 0 or 503, $"answered {a}"));
        Assert.NotEqual(pid, int.Parse(File.ReadLines(pidFile).First()));
    }

    /// <summary>
    /// Issue 14, the fault suite: PostgreSQL restarted while eight clients write log lines as fast as they can. No write
    /// the server acknowledged is lost; during the restart requests answer 503 (never 500), and once it is back, nothing
    /// fails. The figures are printed.
    /// </summary>
    [Fact]
    public async Task APostgresRestartUnderLoad_LosesNoAcknowledgedWrite_Answers503During_AndNothingAfter()
    {
        await using var server = await Nano.Testing.TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:Database"] = "", ["Nano:DataDir"] = _folder });
        var admin = await server.FirstRunAsync("log");
        var answers = new System.Collections.Concurrent.ConcurrentBag<(string Content, int Code, DateTime At)>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var content = $"w{w}-{n}";
                var at = DateTime.UtcNow;
                answers.Add((content, (await server.Rest.PostAsync("/api/v1/logs/", new { content }, admin)).ErrorCode, at));
                // At most 100 a second per writer: log ids hold 999 entries a second, and a fast host would fill a second
                // (answered 409, as documented) rather than test the restart.
                await Task.Delay(TimeSpan.FromMilliseconds(10) - (DateTime.UtcNow - at) is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);
            }
        })).ToList();
        await Task.Delay(TimeSpan.FromSeconds(2));
        var data = Path.Combine(_folder, "postgres", "data");
        var pgCtl = Path.Combine("/usr/lib/postgresql", File.ReadAllText(Path.Combine(data, "PG_VERSION")).Trim(), "bin", "pg_ctl");
        var restarting = DateTime.UtcNow;
        using (var restart = System.Diagnostics.Process.Start("runuser", ["-u", "postgres", "--", pgCtl, "-D", data, "-m", "fast", "-w", "restart"])!)
            await restart.WaitForExitAsync();
        var restarted = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        var endpoint = server.Services.GetRequiredService<DatabaseEndpoint>();
        await using var connection = new NpgsqlConnection(endpoint.Maintenance);
        await connection.OpenAsync();
        var stored = new HashSet<string>();
        await using (var read = new NpgsqlCommand("SELECT content FROM operation_logs", connection))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                stored.Add(reader.GetString(0));
        }
        var acknowledged = answers.Where(a => a.Code == 0).ToList();
        var lost = acknowledged.Count(a => !stored.Contains(a.Content));
        var unavailable = answers.Count(a => a.Code == 503);
        var after = answers.Where(a => a.At > restarted.AddSeconds(1)).ToList();
        output.WriteLine($"{answers.Count} writes: {acknowledged.Count} acknowledged, {lost} of them lost; {unavailable} answered 503 during the " +
            $"{(restarted - restarting).TotalSeconds:0.00} s restart; {after.Count} written after it, {after.Count(a => a.Code != 0)} failed; other answers: " +
            string.Join(", ", answers.Where(a => a.Code is not (0 or 503)).GroupBy(a => a.Code).Select(g => $"{g.Key} x{g.Count()}")));
        Assert.Equal(0, lost);
        Assert.All(answers, a => Assert.True(a.Code is 0 or 503, $"{a.Content} answered {a.Code}"));
        Assert.NotEmpty(after);
        Assert.All(after, a => Assert.Equal(0, a.Code));
    }

    [Fact]
    public void AnExistingCluster_RunsWithTheBinariesOfItsOwnMajorVersion()
    {
        var installed = Installed("9.6", "13", "15", "16");
        Assert.Equal(Path.Combine(installed, "13", "bin"), EmbeddedPostgres.FindBinaries("13", "/srv/data", installed));
        Assert.Equal(Path.Combine(installed, "15", "bin"), EmbeddedPostgres.FindBinaries("15", "/srv/data", installed));
    }

    [Fact]
    public void ANewCluster_IsMadeByTheNewestMajorVersion()
    {
        Assert.Equal(Path.Combine(_folder, "usr", "16", "bin"), EmbeddedPostgres.FindBinaries(null, "/srv/data", Installed("9", "13", "16")));
    }

    [Fact]
    public void AClusterWhoseVersionIsNotInstalled_IsRefused_NamingThePackage()
    {
        var installed = Installed("16");
        var e = Assert.Throws<InvalidOperationException>(() => EmbeddedPostgres.FindBinaries("15", "/srv/data", installed));
        Assert.Contains("PostgreSQL 15", e.Message);
        Assert.Contains("postgresql-15", e.Message);
        Assert.Contains("/srv/data", e.Message);
        var none = Assert.Throws<InvalidOperationException>(() => EmbeddedPostgres.FindBinaries(null, "/srv/data", Path.Combine(_folder, "nothing")));
        Assert.Contains("package postgresql", none.Message);
    }

    /// <summary>A folder laid out as Debian installs PostgreSQL: &lt;major&gt;/bin/pg_ctl for each version.</summary>
    private string Installed(params string[] majors)
    {
        var root = Path.Combine(_folder, "usr");
        foreach (var major in majors)
        {
            Directory.CreateDirectory(Path.Combine(root, major, "bin"));
            File.WriteAllText(Path.Combine(root, major, "bin", "pg_ctl"), "");
        }
        return root;
    }
}
