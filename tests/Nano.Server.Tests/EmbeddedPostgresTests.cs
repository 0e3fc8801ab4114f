using Nano.Server.Hosting;
using Npgsql;

namespace Nano.Server.Tests;

/// <summary>The embedded cluster of nano up: durable, in a data folder only root may enter, run by the binaries of its own major version.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EmbeddedPostgresTests : IDisposable
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
