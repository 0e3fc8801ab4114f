using System.Diagnostics;
using System.Globalization;

namespace Nano.Cell.Instances;

/// <summary>
/// qemu-img and the ISO maker, run as programs with their error output kept for the result. Every qemu-img call names the
/// format of each image it opens (<c>-f</c>, <c>-F</c>): qemu-img never guesses one from the file's content.
/// </summary>
public static class VolumeTool
{
    /// <summary>Creates an empty qcow2 volume of <paramref name="bytes"/> bytes.</summary>
    public static Task CreateQcow2Async(string path, long bytes, CancellationToken cancellationToken) =>
        RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", path, bytes.ToString(CultureInfo.InvariantCulture)], cancellationToken);

    /// <summary>
    /// Creates a qcow2 overlay of <paramref name="backing"/> (copy-on-write: only changed clusters land in the
    /// overlay), as large as <paramref name="bytes"/> or the backing image's virtual size, whichever is larger.
    /// </summary>
    public static async Task CreateOverlayAsync(string path, string backing, long bytes, CancellationToken cancellationToken)
    {
        var size = Math.Max(bytes, await VirtualSizeAsync(backing, cancellationToken));
        await RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, path, size.ToString(CultureInfo.InvariantCulture)], cancellationToken);
    }

    /// <summary>Points an overlay at another copy of the same backing image (only the header changes).</summary>
    public static Task RebaseAsync(string path, string backing, CancellationToken cancellationToken) =>
        RunAsync("qemu-img", ["rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b", backing, path], cancellationToken);

    /// <summary>The size a qcow2 image shows its guest.</summary>
    public static async Task<long> VirtualSizeAsync(string path, CancellationToken cancellationToken)
    {
        var json = await RunAsync("qemu-img", ["info", "--output=json", "-U", "-f", "qcow2", path], cancellationToken);
        using var info = System.Text.Json.JsonDocument.Parse(json);
        return info.RootElement.GetProperty("virtual-size").GetInt64();
    }

    /// <summary>Writes <paramref name="source"/> (with its whole backing chain) as one standalone qcow2 file, reporting 0-100.</summary>
    public static Task FlattenAsync(string source, string target, Action<int> progress, CancellationToken cancellationToken) =>
        RunAsync("qemu-img", ["convert", "-p", "-f", "qcow2", "-O", "qcow2", source, target], cancellationToken, line =>
        {
            // qemu-img -p writes "    (12.34/100%)" lines, separated by carriage returns.
            var open = line.IndexOf('(');
            var slash = line.IndexOf('/', open + 1);
            if (open >= 0 && slash > open && double.TryParse(line[(open + 1)..slash], CultureInfo.InvariantCulture, out var percent))
                progress((int)percent);
        });

    /// <summary>Grows a qcow2 volume to <paramref name="bytes"/> bytes.</summary>
    public static Task ResizeAsync(string path, long bytes, CancellationToken cancellationToken) =>
        RunAsync("qemu-img", ["resize", "-q", "-f", "qcow2", path, bytes.ToString(CultureInfo.InvariantCulture)], cancellationToken);

    /// <summary>Rewrites a qcow2 volume without its unused clusters, then puts it in place of the original.</summary>
    public static async Task CompactAsync(string path, CancellationToken cancellationToken)
    {
        var compacted = path + ".compacting";
        try
        {
            await RunAsync("qemu-img", ["convert", "-q", "-f", "qcow2", "-O", "qcow2", path, compacted], cancellationToken);
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

    private static async Task<string> RunAsync(string file, string[] args, CancellationToken cancellationToken, Action<string>? onOutput = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot run {file}");
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        var output = onOutput is null ? process.StandardOutput.ReadToEndAsync(cancellationToken) : FollowAsync(process.StandardOutput, onOutput, cancellationToken);
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
        return await output;
    }

    /// <summary>Hands each line (ended by a newline or a carriage return) to <paramref name="onLine"/>.</summary>
    private static async Task<string> FollowAsync(StreamReader reader, Action<string> onLine, CancellationToken cancellationToken)
    {
        var buffer = new char[256];
        var line = new System.Text.StringBuilder();
        int read;
        while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
        {
            foreach (var c in buffer.AsSpan(0, read))
            {
                if (c is '\r' or '\n')
                {
                    if (line.Length > 0)
                        onLine(line.ToString());
                    line.Clear();
                }
                else
                    line.Append(c);
            }
        }
        return "";
    }
}
