using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nano.Server.Data;

/// <summary>One firewall rule of a policy, as stored (JSON, snake_case) and sent to cells.</summary>
public sealed record PolicyRule(
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("protocol")] string Protocol,
    [property: JsonPropertyName("from_address")] string FromAddress,
    [property: JsonPropertyName("to_address")] string ToAddress,
    [property: JsonPropertyName("to_port")] int ToPort,
    [property: JsonPropertyName("interface")] int Interface);

/// <summary>A policy: what happens to traffic arriving at a guest that no rule matches, and the ordered rules.</summary>
public sealed record SecurityPolicy(string DefaultAction, IReadOnlyList<PolicyRule> Rules);

/// <summary>How a policy's rules are stored: a JSON array in the row of the group or guest.</summary>
public static class PolicyJson
{
    public static string ToJson(IReadOnlyList<PolicyRule> rules) => JsonSerializer.Serialize(rules);

    public static IReadOnlyList<PolicyRule> FromJson(string json) => JsonSerializer.Deserialize<List<PolicyRule>>(json) ?? [];
}
