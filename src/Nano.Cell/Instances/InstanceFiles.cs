using System.Text.RegularExpressions;

namespace Nano.Cell.Instances;

/// <summary>
/// The names of a guest's files in a storage folder, the one place that knows them: <c>&lt;id&gt;_sys.qcow2</c> (the system
/// volume), <c>&lt;id&gt;_&lt;n&gt;.qcow2</c> (data volume n, from 1), <c>&lt;id&gt;_ci.iso</c> (the cloud-init seed), and the hidden
/// <c>.&lt;id&gt;_export.qcow2</c> a system volume is flattened into before it is pushed to the server. A guest id is a
/// UUID in its canonical form and a name never leaves the folder, whatever a command says: the server (or whoever holds
/// a cell's stream) cannot make the agent touch another file.
/// </summary>
public static partial class InstanceFiles
{
    public const string SystemSuffix = "sys.qcow2";
    public const string SeedSuffix = "ci.iso";

    [GeneratedRegex("^[1-9][0-9]?\\.qcow2$")]
    private static partial Regex DataSuffix();

    /// <summary>Disks a guest may have: the system volume and data volumes 1 to 99.</summary>
    public const int MaxDisks = 100;

    /// <summary>What follows "&lt;id&gt;_" in the name of volume <paramref name="disk"/> (0 the system volume).</summary>
    public static string Suffix(int disk) => disk switch
    {
        0 => SystemSuffix,
        > 0 and < MaxDisks => $"{disk}.qcow2",
        _ => throw new ArgumentException($"disk {disk} does not exist: a guest has disks 0 to {MaxDisks - 1}"),
    };

    /// <summary>Refuses anything but a guest id in canonical form (lower-case UUID with hyphens): ids become file and domain names.</summary>
    public static string RequireId(string guestId) =>
        Guid.TryParseExact(guestId, "D", out var id) && id.ToString() == guestId
            ? guestId
            : throw new ArgumentException($"'{(guestId.Length > 40 ? guestId[..40] : guestId)}' is not a guest id");

    /// <summary>Whether a suffix another cell sent names one of a guest's files (and nothing else).</summary>
    public static bool IsSuffix(string suffix) => suffix is SystemSuffix or SeedSuffix || DataSuffix().IsMatch(suffix);

    /// <summary>What follows "&lt;id&gt;_" in the name of one of the guest's files.</summary>
    public static string SuffixOf(string path, string guestId) => System.IO.Path.GetFileName(path)[(guestId.Length + 1)..];

    public static string Path(string folder, string guestId, string suffix) =>
        Inside(folder, IsSuffix(suffix) ? $"{RequireId(guestId)}_{suffix}" : throw new ArgumentException($"'{suffix}' is not a volume name"));

    public static string Volume(string folder, string guestId, int disk) => Path(folder, guestId, Suffix(disk));

    public static string Seed(string folder, string guestId) => Path(folder, guestId, SeedSuffix);

    public static string Export(string folder, string guestId) => Inside(folder, $".{RequireId(guestId)}_export.qcow2");

    /// <summary>Every file of the guest in the folder, by name.</summary>
    public static IReadOnlyList<string> In(string folder, string guestId) =>
        Directory.Exists(folder) ? [.. Directory.EnumerateFiles(folder, $"{RequireId(guestId)}_*").Order(StringComparer.Ordinal)] : [];

    /// <summary>The guest's volumes in the folder in disk order: the system volume, then data volumes by number.</summary>
    public static List<string> Volumes(string folder, string guestId)
    {
        var files = In(folder, guestId).Where(f => f.EndsWith(".qcow2", StringComparison.Ordinal)).ToList();
        var system = files.Where(f => f.EndsWith($"_{SystemSuffix}", StringComparison.Ordinal));
        var data = files.Except(system)
            .OrderBy(f => int.TryParse(System.IO.Path.GetFileNameWithoutExtension(f)[(guestId.Length + 1)..], out var n) ? n : int.MaxValue);
        return [.. system, .. data];
    }

    /// <summary>A file name joined to the folder, refused if the result would lie anywhere but directly in it.</summary>
    private static string Inside(string folder, string name)
    {
        var path = System.IO.Path.Combine(folder, name);
        return System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) == System.IO.Path.GetFullPath(folder).TrimEnd('/')
            ? path
            : throw new ArgumentException($"'{name}' is not a file of {folder}");
    }

    /// <summary>The guest's cloud-init seed in the folder, or null.</summary>
    public static string? SeedIn(string folder, string guestId) => In(folder, guestId).FirstOrDefault(f => f.EndsWith($"_{SeedSuffix}", StringComparison.Ordinal));
}
