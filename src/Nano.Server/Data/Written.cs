namespace Nano.Server.Data;

/// <summary>How a repository's write ended.</summary>
public enum WriteOutcome
{
    /// <summary>The row was written.</summary>
    Done,

    /// <summary>The row (or a row it names, see <see cref="Written.Cause"/>) does not exist.</summary>
    Missing,

    /// <summary>A row with the same unique name exists.</summary>
    Exists,

    /// <summary>Other rows still refer to it, or a rule of the table holds it (<see cref="Written.Cause"/> says which).</summary>
    InUse,

    /// <summary>The new values are the stored ones.</summary>
    Unchanged,

    /// <summary>Another writer holds the row for a longer change (an image being uploaded), or changed it since it was read.</summary>
    Busy,
}

/// <summary>
/// What a repository's write did. Repositories report it and raise no API failure: the domain or the service that
/// called them decides what the caller is told (<c>Domain/WriteFailures</c>). <see cref="Cause"/> names what made
/// the write fail when the caller needs it for its message (the role that does not exist, the compute pool that
/// uses a storage pool, the guests that use an image, the range a new one overlaps).
/// </summary>
public readonly record struct Written(WriteOutcome Outcome, string Cause = "")
{
    public static Written Done => new(WriteOutcome.Done);

    public static Written Missing(string cause = "") => new(WriteOutcome.Missing, cause);

    public static Written Exists => new(WriteOutcome.Exists);

    public static Written InUse(string cause = "") => new(WriteOutcome.InUse, cause);

    public static Written Unchanged => new(WriteOutcome.Unchanged);

    public static Written Busy => new(WriteOutcome.Busy);

    /// <summary>Done when exactly one row was affected, Missing when none was.</summary>
    public static Written OneRow(int affected) => affected == 0 ? Missing() : Done;
}
