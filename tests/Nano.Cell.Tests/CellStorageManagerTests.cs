using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Tests;

/// <summary>The cell's storage folders: local by default, moved only between empty folders, remembered across restarts.</summary>
public sealed class CellStorageManagerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nano-storage-").FullName;

    private string StateFile => Path.Combine(_root, "state", "cell.json");

    [Fact]
    public void LocalPath_MovesToAnEmptyFolder_AndIsRemembered()
    {
        var first = Path.Combine(_root, "images");
        var second = Path.Combine(_root, "elsewhere");
        var storage = new CellStorageManager(first, Path.Combine(_root, "mounts"), StateFile);
        Assert.True(Directory.Exists(first));
        Assert.Equal("", storage.ChangeLocalPath(second));
        Assert.Equal(second, storage.CurrentPath);
        var described = storage.Describe(10, 5);
        Assert.Equal(new CellStorage { Mode = "local", System = { second }, Data = { second }, Total = 10, Available = 5 }, described);

        var restarted = new CellStorageManager(first, Path.Combine(_root, "mounts"), StateFile);
        Assert.Equal(second, restarted.CurrentPath);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void GuestsQemu_IsLetThroughTheStorageFolder_AsItsOwnUserOnly_AndAFolderAboveThatBlocksIsNamed()
    {
        // _root is made by mktemp -d (0700): the agent lets libvirt-qemu, and nobody else, pass through it and its own folder.
        var storage = new CellStorageManager(Path.Combine(_root, "images"), Path.Combine(_root, "mounts"), StateFile);
        File.WriteAllText(Path.Combine(storage.CurrentPath, "probe"), "");
        Assert.Equal(0, RunAs(HostFiles.DefaultQemuUser, "test", "-x", storage.CurrentPath));
        Assert.NotEqual(0, RunAs("nobody", "test", "-x", _root));
        Assert.NotEqual(0, RunAs(HostFiles.DefaultQemuUser, "ls", _root)); // passes through, lists nothing
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_root) & ~UnixFileMode.GroupExecute);

        // Two levels of closed folders: the one the agent does not own is named and left as it is.
        var closed = Directory.CreateDirectory(Path.Combine(_root, "closed"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        Directory.CreateDirectory(Path.Combine(closed, "parent"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var refused = Assert.Throws<InvalidOperationException>(() =>
            new CellStorageManager(Path.Combine(closed, "parent", "images"), Path.Combine(_root, "mounts"), Path.Combine(_root, "other.json")));
        Assert.Contains($"({closed} does not let it in)", refused.Message);
        Assert.Equal("", HostFiles.LetQemuIn(Path.Combine(_root, "open"), ""));  // QEMU as root: nothing to let in
    }

    private static int RunAs(string user, string program, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("runuser", ["-u", user, "--", program, .. args])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }

    [Fact]
    public async Task ASharedFolder_IsUsedWhereItIs_OnlyIfItExists_UntilDetached()
    {
        var local = Path.Combine(_root, "images");
        var shared = Path.Combine(_root, "shared");
        var storage = new CellStorageManager(local, Path.Combine(_root, "mounts"), StateFile);
        var attach = new AttachStorage { Pool = "folder", Type = "shared", Target = shared };
        Assert.Contains("does not exist", await storage.AttachAsync(attach, CancellationToken.None));
        Assert.Equal(local, storage.CurrentPath);

        Directory.CreateDirectory(shared);
        Assert.Equal("", await storage.AttachAsync(attach, CancellationToken.None));
        Assert.Equal(new CellStorage { Mode = "shared", System = { shared }, Data = { shared }, Total = 10, Available = 5 }, storage.Describe(10, 5));
        Assert.Empty(Directory.GetFileSystemEntries(shared)); // the write probe is gone
        Assert.Contains("shared storage", storage.ChangeLocalPath(Path.Combine(_root, "other")));

        await storage.DetachAsync("folder", CancellationToken.None);
        Assert.Equal(local, storage.CurrentPath);
    }

    [Fact]
    public void LocalPath_DoesNotMove_FromAFolderWithVolumes_OrIntoAFullOne_OrToARelativePath()
    {
        var first = Path.Combine(_root, "images");
        var storage = new CellStorageManager(first, Path.Combine(_root, "mounts"), StateFile);
        File.WriteAllText(Path.Combine(first, "guest_sys.qcow2"), "x");
        Assert.Contains("still holds volumes", storage.ChangeLocalPath(Path.Combine(_root, "new")));
        File.Delete(Path.Combine(first, "guest_sys.qcow2"));

        var full = Directory.CreateDirectory(Path.Combine(_root, "full")).FullName;
        File.WriteAllText(Path.Combine(full, "something"), "x");
        Assert.Contains("not empty", storage.ChangeLocalPath(full));
        Assert.Contains("not an absolute path", storage.ChangeLocalPath("relative/path"));
        Assert.Contains("already", storage.ChangeLocalPath(first));
        Assert.Equal(first, storage.CurrentPath);
        Assert.False(File.Exists(StateFile));
    }

    [Fact]
    public async Task Attach_LocalNeedsNothing_UnknownTypesAreRefused()
    {
        var storage = new CellStorageManager(Path.Combine(_root, "images"), Path.Combine(_root, "mounts"), StateFile);
        Assert.Equal("", await storage.AttachAsync(new AttachStorage(), CancellationToken.None));
        Assert.Contains("unsupported storage type", await storage.AttachAsync(new AttachStorage { Pool = "p", Type = "ceph" }, CancellationToken.None));
        Assert.Equal("local", storage.Describe(0, 0).Mode);
    }

    [Fact]
    public async Task Attach_AnNfsExportThatIsNotThere_ReportsMountsError_AndStaysLocal()
    {
        var storage = new CellStorageManager(Path.Combine(_root, "images"), Path.Combine(_root, "mounts"), StateFile);
        var error = await storage.AttachAsync(new AttachStorage { Pool = "nas", Type = "nfs", Host = "127.0.0.1", Target = "/no/such/export" }, CancellationToken.None);
        Assert.StartsWith("mount 127.0.0.1:/no/such/export failed:", error);
        Assert.Equal("local", storage.Describe(0, 0).Mode);
        Assert.Equal(Path.Combine(_root, "images"), storage.CurrentPath);
    }

    [Theory]
    [InlineData("../../etc", "nas", "/export")]
    [InlineData("nas", "-oremount", "/export")]
    [InlineData("nas", "nas;reboot", "/export")]
    [InlineData("nas", "nas", "/export/../../etc")]
    [InlineData("nas", "nas", "export")]
    public async Task Attach_RefusesNamesAndPathsThatCouldLeaveTheirPlace(string pool, string host, string target)
    {
        var storage = new CellStorageManager(Path.Combine(_root, "images"), Path.Combine(_root, "mounts"), StateFile);
        var error = await storage.AttachAsync(new AttachStorage { Pool = pool, Type = "nfs", Host = host, Target = target }, CancellationToken.None);
        Assert.StartsWith("refused storage pool", error);
        Assert.False(Directory.Exists(Path.Combine(_root, "etc")));
        Assert.Equal("local", storage.Describe(0, 0).Mode);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
