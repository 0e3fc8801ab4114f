using System.Diagnostics;
using System.Globalization;

namespace Nano.Cell.Guests;

/// <summary>qemu-img and the ISO maker, run as programs with their error output kept for the result.</summary>
public static class VolumeTool
{
    /// <summary>Creates an empty qcow2 volume of <paramref name="bytes"/> bytes.</summary>
    public static Task CreateQcow2Async(string path, long bytes, CancellationToken cancellationToken) =>
        RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, bytes.ToString(CultureInfo.InvariantCulture)], cancellationToken);

    /// <summary>Grows a qcow2 volume to <paramref name="bytes"/> bytes.</summary>
    public static Task ResizeAsync(string path, long bytes, CancellationToken cancellationToken) =>
        RunAsync("qemu-img", ["resize", "-q", "-f", "qcow2", path, bytes.ToString(CultureInfo.InvariantCulture)], cancellationToken);

    /// <summary>Rewrites a qcow2 volume without its unused clusters, then puts it in place of the original.</summary>
    public static async Task CompactAsync(string path, CancellationToken cancellationToken)
    {
        var compacted = path + ".compacting";
        try
        {
            await RunAsync("qemu-img", ["convert", "-q", "-O", "qcow2", path, compacted], cancellationToken);
            File.Move(compacted, path, overwrite: true);
        }
        finally
        {
            File.Delete(compacted);
        }
    }

    /// <summary>An ISO9660 image labelled <paramref name="label"/> holding the files of <paramref name="folder"/> (cloud-init NoCloud seed).</summary>
    public static Task CreateIsoAsync(string path, string label, string folder, CancellationToken cancellationToken)
    {
        var files = Directory.GetFiles(folder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        return File.Exists("/usr/bin/genisoimage")
            ? RunAsync("genisoimage", ["-quiet", "-output", path, "-volid", label, "-joliet", "-rock", .. files.Select(f => Path.Combine(folder, f))], cancellationToken)
            : RunAsync("xorriso", ["-as", "mkisofs", "-quiet", "-output", path, "-volid", label, "-joliet", "-rock", .. files.Select(f => Path.Combine(folder, f))], cancellationToken);
    }

    private static async Task RunAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot run {file}");
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} failed: {(await error).Trim()}");
    }
}
