namespace Nano.Server.Domain;

/// <summary>The caller of an RPC, known from its Nano-Session header.</summary>
public sealed record SessionContext(string Id, string User, string Group, string Address, IReadOnlyList<string> Menu);
