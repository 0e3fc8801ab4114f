using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Nano.Libvirt;

/// <summary>
/// The CPU a domain's guest sees, as one word: <see cref="HostPassthrough"/> (the host's own CPU), <see cref="HostModel"/>
/// (libvirt's closest model of it), or the name of a model in libvirt's CPU map ("EPYC", "Skylake-Client-IBRS", …),
/// which every host that can run that model runs alike: what live migration between different hosts needs.
/// </summary>
public static partial class DomainCpu
{
    public const string HostPassthrough = "host-passthrough";
    public const string HostModel = "host-model";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();

    /// <summary>One of the two host modes, or a plain model name (letters, digits, '.', '_', '-').</summary>
    public static bool IsValid(string? definition) => definition is not null && NamePattern().IsMatch(definition);

    /// <summary>Whether the definition is one of libvirt's named models (not a host mode).</summary>
    public static bool IsNamedModel(string definition) => definition is not (HostPassthrough or HostModel);

    /// <summary>The domain XML &lt;cpu&gt; element of a definition. A named model must be there in full (no fallback to another).</summary>
    public static XElement Element(string definition)
    {
        if (!IsValid(definition))
            throw new ArgumentException($"'{definition}' is not a CPU definition", nameof(definition));
        return definition switch
        {
            HostPassthrough or HostModel => new XElement("cpu", new XAttribute("mode", definition)),
            _ => new XElement("cpu", new XAttribute("mode", "custom"), new XAttribute("match", "exact"),
                new XElement("model", new XAttribute("fallback", "forbid"), definition)),
        };
    }

    /// <summary>The definition in a domain's (persistent) XML; "" when it has no &lt;cpu&gt; element.</summary>
    public static string Of(string domainXml)
    {
        var cpu = XElement.Parse(domainXml).Element("cpu");
        return cpu?.Attribute("mode")?.Value switch
        {
            null when cpu?.Element("model") is { } model => model.Value.Trim(),
            "custom" => cpu.Element("model")?.Value.Trim() ?? "",
            { } mode => mode,
            null => "",
        };
    }

    /// <summary>The domain XML with its &lt;cpu&gt; element replaced by (or given) the one of <paramref name="definition"/>.</summary>
    public static string Replace(string domainXml, string definition)
    {
        var domain = XElement.Parse(domainXml);
        var element = Element(definition);
        if (domain.Element("cpu") is { } existing)
            existing.ReplaceWith(element);
        else
            domain.Add(element);
        return domain.ToString(SaveOptions.DisableFormatting);
    }
}
