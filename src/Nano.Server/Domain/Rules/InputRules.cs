using System.Text.RegularExpressions;

namespace Nano.Server.Domain.Rules;

/// <summary>What names, host names and paths in requests may be (pools, cells, guests, users, snapshots, NFS hosts, folders).</summary>
public static partial class InputRules
{
    public const int MaxNameLength = 64;

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex NamePattern();

    /// <summary>Letters, digits, '-' and '_', at most 64 characters.</summary>
    public static string Name(string kind, string? value)
    {
        if (string.IsNullOrEmpty(value))
            throw Fail.Invalid($"{kind} name is required");
        if (value.Length > MaxNameLength)
            throw Fail.Invalid($"{kind} name is longer than {MaxNameLength} characters");
        if (!NamePattern().IsMatch(value))
            throw Fail.Invalid($"invalid {kind} name '{value}': only letters, digits, '-' and '_' are allowed");
        return value;
    }

    /// <summary>Whether <paramref name="value"/> is a name as <see cref="Name"/> takes it, for text that is not refused but replaced (what a cell reports).</summary>
    public static bool IsName(string? value) => !string.IsNullOrEmpty(value) && value.Length <= MaxNameLength && NamePattern().IsMatch(value);

    /// <summary>An optional reference to another named thing: empty stays empty, otherwise a valid name.</summary>
    public static string? OptionalName(string kind, string? value) => string.IsNullOrEmpty(value) ? null : Name(kind, value);

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex SnapshotNamePattern();

    /// <summary>Snapshot names: letters, digits, '_', '.', '-', at most 64 characters.</summary>
    public static string SnapshotName(string? value) =>
        value is not null && SnapshotNamePattern().IsMatch(value) && value != "." && value != ".."
            ? value
            : throw Fail.Invalid($"invalid snapshot name '{value}': 1 to 64 letters, digits, '_', '.' or '-'");

    // Labels of letters, digits, '-' and '_' (real DNS names carry underscores), neither starting nor ending with '-':
    // what reaches mount's "host:target" argument can never read as an option.
    [GeneratedRegex(@"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")]
    private static partial Regex HostPattern();

    /// <summary>An IPv4 address or a DNS host name (a trailing dot allowed).</summary>
    public static string Host(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
            throw Fail.Invalid($"{field} is required");
        if (!Ipv4.TryParse(value, out _) && !HostPattern().IsMatch(value))
            throw Fail.Invalid($"{field} '{value}' is neither an IPv4 address nor a host name");
        return value;
    }

    [GeneratedRegex(@"^(/[A-Za-z0-9._+-]+)+/?$|^/$")]
    private static partial Regex PathPattern();

    /// <summary>An absolute path of plain segments (no "..", no spaces or shell characters).</summary>
    public static string AbsolutePath(string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
            throw Fail.Invalid($"{field} is required");
        if (value.Length > 1024 || !PathPattern().IsMatch(value) || value.Split('/').Any(s => s is "." or ".."))
            throw Fail.Invalid($"{field} '{value}' is not an absolute path of letters, digits and ._+-");
        return value;
    }
}
