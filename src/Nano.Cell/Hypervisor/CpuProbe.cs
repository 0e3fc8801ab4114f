namespace Nano.Cell.Hypervisor;

/// <summary>
/// The rules of the CPU probe, apart from libvirt: which definitions are tried, in which order, and what is kept. The
/// candidates are host-passthrough, host-model, then the named models libvirt calls usable that have long mode ("lm",
/// so 64-bit guests run), most features first; a candidate is kept when a paused probe domain with it starts.
/// </summary>
public static class CpuProbe
{
    /// <param name="signature">Fingerprint of the host's CPU.</param>
    /// <param name="namedModels">The named models libvirt's domain capabilities call usable.</param>
    /// <param name="features">The features a named model requires (empty when libvirt cannot tell).</param>
    /// <param name="start">Starts and destroys a probe domain with a definition: null when it started, else why not.</param>
    /// <param name="refused">Told of each candidate that did not start, with the reason.</param>
    public static HostCpus Run(string signature, IEnumerable<string> namedModels, Func<string, IReadOnlyList<string>> features,
        Func<string, string?> start, Action<string, string> refused)
    {
        var named = namedModels
            .Select(model => (Model: model, Features: features(model)))
            .Where(m => m.Features.Contains("lm"))
            .OrderByDescending(m => m.Features.Count).ThenBy(m => m.Model, StringComparer.Ordinal)
            .Select(m => m.Model);
        var usable = new List<string>();
        foreach (var candidate in new[] { Nano.Libvirt.DomainCpu.HostPassthrough, Nano.Libvirt.DomainCpu.HostModel }.Concat(named))
        {
            if (start(candidate) is { } reason)
                refused(candidate, reason);
            else
                usable.Add(candidate);
        }
        return new HostCpus(signature, usable);
    }
}
