using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// The rules of security policies (api-decisions.md 4.9): validation, and the ordered-list edits groups and
/// guests share. A rule's identity is (protocol, from_address, to_port), plus to_address for guest
/// policies; two rules of one list may not share it. Indexes are 0-based.
/// </summary>
public static class SecurityRules
{
    public const int MaxRules = 500;
    private static readonly string[] Actions = ["accept", "reject"];
    private static readonly string[] Protocols = ["all", "tcp", "udp", "icmp"];

    public static string Action(string? value, string field = "action") =>
        string.IsNullOrEmpty(value) ? "accept"
        : Actions.Contains(value) ? value
        : throw Fail.Invalid($"{field} must be accept or reject, not '{value}'");

    public static PolicyRule Rule(string? action, string? protocol, string? fromAddress, string? toAddress, int toPort, int @interface)
    {
        var proto = string.IsNullOrEmpty(protocol) ? "all" : Protocols.Contains(protocol) ? protocol : throw Fail.Invalid($"protocol must be all, tcp, udp or icmp, not '{protocol}'");
        if (toPort is < 0 or > 65535)
            throw Fail.Invalid($"to_port {toPort} is outside 0-65535");
        if (toPort > 0 && proto is not ("tcp" or "udp"))
            throw Fail.Invalid($"to_port applies to tcp and udp rules only, not to {proto}");
        if (@interface < 0)
            throw Fail.Invalid("interface must be 0 (all) or a NIC number from 1");
        return new PolicyRule(Action(action), proto, Address("from_address", fromAddress), Address("to_address", toAddress), toPort, @interface);
    }

    /// <summary>Appends a rule that no rule of the list matches already.</summary>
    public static List<PolicyRule> Add(IReadOnlyList<PolicyRule> rules, PolicyRule rule, bool withDestination)
    {
        if (rules.Count >= MaxRules)
            throw Fail.Precondition($"a policy holds at most {MaxRules} rules");
        if (rules.Any(r => SameTraffic(r, rule, withDestination)))
            throw Fail.Exists($"a rule for {Describe(rule)} exists already");
        return [.. rules, rule];
    }

    public static List<PolicyRule> Replace(IReadOnlyList<PolicyRule> rules, int index, PolicyRule rule, bool withDestination)
    {
        Check(rules, index);
        if (rules[index] == rule)
            throw Fail.Precondition($"rule {index} is already {Describe(rule)} with action {rule.Action}");
        if (rules.Where((r, i) => i != index).Any(r => SameTraffic(r, rule, withDestination)))
            throw Fail.Exists($"another rule for {Describe(rule)} exists already");
        var changed = rules.ToList();
        changed[index] = rule;
        return changed;
    }

    /// <summary>Moves rule <paramref name="index"/> one step "up" (earlier) or "down" (later).</summary>
    public static List<PolicyRule> Move(IReadOnlyList<PolicyRule> rules, int index, string direction)
    {
        Check(rules, index);
        var target = direction switch
        {
            "up" => index - 1,
            "down" => index + 1,
            _ => throw Fail.Invalid($"direction must be up or down, not '{direction}'"),
        };
        if (target < 0 || target >= rules.Count)
            throw Fail.Precondition($"rule {index} is already the {(direction == "up" ? "first" : "last")}");
        var changed = rules.ToList();
        (changed[index], changed[target]) = (changed[target], changed[index]);
        return changed;
    }

    public static List<PolicyRule> Remove(IReadOnlyList<PolicyRule> rules, int index)
    {
        Check(rules, index);
        var changed = rules.ToList();
        changed.RemoveAt(index);
        return changed;
    }

    private static void Check(IReadOnlyList<PolicyRule> rules, int index)
    {
        if (index < 0 || index >= rules.Count)
            throw Fail.NotFound($"rule {index} not found: the policy has {rules.Count} rule(s), numbered from 0");
    }

    private static bool SameTraffic(PolicyRule a, PolicyRule b, bool withDestination) =>
        a.Protocol == b.Protocol && a.FromAddress == b.FromAddress && a.ToPort == b.ToPort && (!withDestination || a.ToAddress == b.ToAddress);

    private static string Describe(PolicyRule r) =>
        $"{r.Protocol} from {(r.FromAddress.Length > 0 ? r.FromAddress : "any")}{(r.ToAddress.Length > 0 ? $" to {r.ToAddress}" : "")}{(r.ToPort > 0 ? $" port {r.ToPort}" : "")}";

    private static string Address(string field, string? value) =>
        string.IsNullOrEmpty(value) ? ""
        : Ipv4.TryParse(value, out var address) ? Ipv4.Format(address)
        : throw Fail.Invalid($"{field} '{value}' is not an IPv4 address");
}
