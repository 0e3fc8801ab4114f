using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;

namespace Nano.Libvirt;

/// <summary>What libvirt says about the host's CPU and the CPU models it offers domains.</summary>
public static class HostCpu
{
    /// <summary>
    /// A short fingerprint of the host's CPU (vendor, model, family/model/stepping and every feature, from libvirt's
    /// capabilities): two hosts with the same one can pass guests with <see cref="DomainCpu.HostPassthrough"/> between them.
    /// </summary>
    public static string Signature(Connection connection)
    {
        var cpu = XElement.Parse(connection.GetCapabilities()).Element("host")?.Element("cpu");
        if (cpu is null)
            return "";
        var signature = cpu.Element("signature");
        var text = string.Join('|',
            cpu.Element("arch")?.Value, cpu.Element("vendor")?.Value, cpu.Element("model")?.Value,
            signature?.Attribute("family")?.Value, signature?.Attribute("model")?.Value, signature?.Attribute("stepping")?.Value,
            string.Join(',', cpu.Elements("feature").Select(f => f.Attribute("name")?.Value).Order(StringComparer.Ordinal)));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    /// <summary>The named models libvirt's domain capabilities call usable for <paramref name="virtType"/> domains.</summary>
    public static IReadOnlyList<string> UsableModels(Connection connection, string virtType) =>
        [.. XElement.Parse(connection.GetDomainCapabilities(virtType)).Element("cpu")?.Elements("mode")
            .Where(m => m.Attribute("name")?.Value == "custom")
            .SelectMany(m => m.Elements("model"))
            .Where(m => m.Attribute("usable")?.Value == "yes")
            .Select(m => m.Value.Trim()) ?? []];

    /// <summary>The features a named model requires (libvirt's CPU map, expanded).</summary>
    public static IReadOnlyList<string> RequiredFeatures(Connection connection, string model, string virtType) =>
        [.. XElement.Parse(connection.ExpandCpu(DomainCpu.Element(model).ToString(SaveOptions.DisableFormatting), virtType))
            .Elements("feature")
            .Where(f => f.Attribute("policy")?.Value is "require" or null)
            .Select(f => f.Attribute("name")?.Value ?? "")];
}
