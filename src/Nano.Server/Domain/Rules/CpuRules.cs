using System.Text.RegularExpressions;

namespace Nano.Server.Domain.Rules;

/// <summary>What one cell's host can start: its CPU definitions, best first, and its CPU's fingerprint. Empty: not known.</summary>
public sealed record CellCpus(string Cell, IReadOnlyList<string> Usable, string Signature)
{
    public bool Known => Usable.Count > 0;
}

/// <summary>
/// Which CPU definition guests of a compute pool get (docs/cpu.md). A definition is "host-passthrough", "host-model" or
/// a named model of libvirt's CPU map. A pool's <c>cpu</c> setting is either a definition, honoured on every cell that can
/// start it (and a cell that cannot is not attached), or empty: automatic, the fastest definition every cell of the pool
/// starts — host-passthrough when all can and their CPUs are identical, otherwise the best named model they share, so
/// guests of a mixed pool can move live. Cells whose definitions are not known (hypervisors without CPU models) bind nothing.
/// </summary>
public static partial class CpuRules
{
    public const string HostPassthrough = "host-passthrough";
    public const string HostModel = "host-model";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex DefinitionPattern();

    public static bool IsDefinition(string? value) => value is not null && DefinitionPattern().IsMatch(value);

    /// <summary>A pool's setting: empty (automatic) or a definition.</summary>
    public static string Setting(string? value) =>
        string.IsNullOrEmpty(value) ? "" : IsDefinition(value) ? value
            : throw Fail.Invalid($"cpu '{value}' is neither host-passthrough, host-model nor a CPU model name (letters, digits, '.', '_', '-')");

    private static bool IsHostMode(string definition) => definition is HostPassthrough or HostModel;

    /// <summary>The definition guests of a pool with <paramref name="setting"/> and these cells start with; "" leaves it to each cell.</summary>
    public static string Choose(string setting, IEnumerable<CellCpus> cells)
    {
        if (setting.Length > 0)
            return setting;
        var known = cells.Where(c => c.Known).OrderBy(c => c.Cell, StringComparer.Ordinal).ToList();
        if (known.Count == 0)
            return "";
        if (known.All(c => c.Usable.Contains(HostPassthrough)) && known.Select(c => c.Signature).Distinct().Count() == 1 && known[0].Signature.Length > 0)
            return HostPassthrough;
        return known[0].Usable.FirstOrDefault(d => !IsHostMode(d) && known.All(c => c.Usable.Contains(d))) ?? "";
    }

    /// <summary>Why <paramref name="joining"/> cannot join pool <paramref name="pool"/> (its setting and current cells); null when it can.</summary>
    public static string? AttachRefusal(string pool, string setting, IReadOnlyList<CellCpus> members, CellCpus joining)
    {
        if (!joining.Known)
            return null;
        if (setting.Length > 0)
        {
            return joining.Usable.Contains(setting) ? null
                : $"cell '{joining.Cell}' cannot start guests with CPU '{setting}', the CPU of compute pool '{pool}' (it starts {string.Join(", ", joining.Usable)})";
        }
        if (!members.Any(m => m.Known) || Choose("", [.. members, joining]).Length > 0)
            return null;
        return $"cell '{joining.Cell}' shares no CPU definition with the cells of compute pool '{pool}' (it starts {string.Join(", ", joining.Usable)})";
    }

    /// <summary>Why pool <paramref name="pool"/> cannot take <paramref name="setting"/> with these cells; null when it can.</summary>
    public static string? SettingRefusal(string pool, string setting, IEnumerable<CellCpus> members) =>
        setting.Length == 0 ? null
            : members.FirstOrDefault(m => m.Known && !m.Usable.Contains(setting)) is { } unable
                ? $"cell '{unable.Cell}' of compute pool '{pool}' cannot start guests with CPU '{setting}' (it starts {string.Join(", ", unable.Usable)})"
                : null;

    /// <summary>
    /// Why a guest running with CPU <paramref name="cpu"/> cannot move live from <paramref name="source"/> to <paramref name="target"/>;
    /// null when it can. A named model moves to any host that starts it; the host modes only between hosts of the same CPU.
    /// </summary>
    public static string? LiveMigrationRefusal(string guest, string cpu, CellCpus source, CellCpus target)
    {
        if (cpu.Length == 0 || !target.Known)
            return null;
        if (!target.Usable.Contains(cpu))
            return $"guest '{guest}' runs with CPU '{cpu}', which cell '{target.Cell}' cannot start";
        if (IsHostMode(cpu) && (source.Signature.Length == 0 || source.Signature != target.Signature))
            return $"guest '{guest}' runs with CPU '{cpu}', which moves live only between hosts of the same CPU: cells '{source.Cell}' and '{target.Cell}' differ " +
                "(a pool whose cpu is a named model, or automatic, lets guests of different hosts move once they are restarted)";
        return null;
    }
}
