using System.Diagnostics;
using Nano.Images;

namespace Nano.Cell.Tests;

/// <summary>
/// Security, hostile input that reaches the hosts (issue 13, item 1): what the qcow2 header reader makes of images real
/// qemu-img writes, standalone or naming other files. The server and the cells refuse an image handed to them on its word.
/// </summary>
public sealed class HostileVolumeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nano-qcow2-").FullName;

    [Fact]
    public void AStandaloneImage_IsAccepted()
    {
        var plain = QemuImg("plain.qcow2", "create", "-q", "-f", "qcow2");
        Assert.Null(Qcow2Header.Refusal(plain));
        Assert.Equal(new Qcow2Info(3, null, false), Qcow2Header.Read(plain));
        var v2 = QemuImg("v2.qcow2", "create", "-q", "-f", "qcow2", "-o", "compat=0.10");
        Assert.Null(Qcow2Header.Refusal(v2));
    }

    [Fact]
    public void AnImageNamingAHostFileAsItsBacking_IsRefused_UnlessAnOverlayIsExpected()
    {
        var overlay = QemuImg("overlay.qcow2", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname", "-u");

        Assert.Contains("backing file", Qcow2Header.Refusal(overlay));
        Assert.Equal("/etc/hostname", Qcow2Header.BackingFile(overlay));
        Assert.Null(Qcow2Header.Refusal(overlay, backingAllowed: true));
    }

    [Fact]
    public void AnImageKeepingItsDataInAnotherFile_IsRefused_EvenWhereAnOverlayIsExpected()
    {
        var external = QemuImg("external.qcow2", "create", "-q", "-f", "qcow2", "-o", $"data_file={Path.Combine(_root, "data.raw")}");

        Assert.Contains("external", Qcow2Header.Refusal(external));
        Assert.Contains("external", Qcow2Header.Refusal(external, backingAllowed: true));
        Assert.True(Qcow2Header.Read(external)!.ExternalData);
    }

    [Fact]
    public void AFileThatIsNoQcow2_IsRefused()
    {
        var raw = Path.Combine(_root, "raw.img");
        File.WriteAllBytes(raw, new byte[4096]);
        Assert.Contains("not a qcow2", Qcow2Header.Refusal(raw));
        Assert.Null(Qcow2Header.Read(raw));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string QemuImg(string name, params string[] args)
    {
        var path = Path.Combine(_root, name);
        using var process = Process.Start(new ProcessStartInfo("qemu-img", [.. args, path, "1M"]) { RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, error);
        return path;
    }
}
