namespace Nano.Cell.Hypervisor;

/// <summary>
/// The CPU definitions (see Nano.Libvirt.DomainCpu) this host was seen to start, best first, and a fingerprint of its CPU.
/// Empty on hypervisors without CPU definitions (libvirt's test driver).
/// </summary>
public sealed record HostCpus(string Signature, IReadOnlyList<string> Usable)
{
    public static readonly HostCpus None = new("", []);

    /// <summary>The definition guests get here when the server names none: the best this host starts; "" for none.</summary>
    public string Best => Usable.Count > 0 ? Usable[0] : "";

    /// <summary>
    /// The definition a guest's domain gets: the one the server asks for, which this host must be able to start, or
    /// with none asked for, <see cref="Best"/>.
    /// </summary>
    public string For(string requested)
    {
        if (requested.Length == 0 || Usable.Count == 0)
            return Best;
        return Usable.Contains(requested) ? requested : throw new InvalidOperationException(
            $"this host cannot start guests with CPU '{requested}' (it starts {string.Join(", ", Usable)})");
    }
}
