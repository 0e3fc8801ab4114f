using Google.Api;
using Google.Protobuf.Reflection;
using Nano.Contracts.V1;

namespace Nano.Server.Domain;

/// <summary>One public RPC: its service, whether it changes state (see <see cref="ApiCatalog"/>) and its routes.</summary>
public sealed record ApiMethod(string Service, string Name, bool Changes, MethodDescriptor Descriptor)
{
    /// <summary>The gRPC path, "/nano.v1.UserService/CreateUser".</summary>
    public string Path => $"/{Service}/{Name}";
}

/// <summary>The public API as the .proto files declare it (every nano.v1 file descriptor).</summary>
public static class ApiCatalog
{
    public static IReadOnlyList<FileDescriptor> Files { get; } = typeof(UserService).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(UserService).Namespace && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
        .Select(t => (FileDescriptor)t.GetProperty("Descriptor")!.GetValue(null)!)
        .Where(f => f.Package == "nano.v1")
        .OrderBy(f => f.Name, StringComparer.Ordinal)
        .ToArray();

    public static IReadOnlyList<Google.Protobuf.Reflection.ServiceDescriptor> Services { get; } = Files.SelectMany(f => f.Services).ToArray();

    public static IReadOnlyDictionary<string, ApiMethod> Methods { get; } = Services
        .SelectMany(s => s.Methods)
        .Select(m => new ApiMethod(m.Service.FullName, m.Name, Changes(m), m))
        .ToDictionary(m => m.Path, StringComparer.Ordinal);

    /// <summary>The google.api.http rule of a method, or null for a gRPC-only method.</summary>
    public static HttpRule? HttpRule(MethodDescriptor method) => method.GetOptions()?.GetExtension(AnnotationsExtensions.Http);

    /// <summary>An HTTP rule's method (upper case) and path template.</summary>
    public static (string Method, string Template) Route(HttpRule rule) => rule.PatternCase switch
    {
        Google.Api.HttpRule.PatternOneofCase.Get => ("GET", rule.Get),
        Google.Api.HttpRule.PatternOneofCase.Post => ("POST", rule.Post),
        Google.Api.HttpRule.PatternOneofCase.Put => ("PUT", rule.Put),
        Google.Api.HttpRule.PatternOneofCase.Delete => ("DELETE", rule.Delete),
        Google.Api.HttpRule.PatternOneofCase.Patch => ("PATCH", rule.Patch),
        _ => (rule.Custom.Kind.ToUpperInvariant(), rule.Custom.Path),
    };

    /// <summary>A field by its JSON name or its proto name, the two names transcoding reads it by; null for neither.</summary>
    public static FieldDescriptor? Field(MessageDescriptor type, string name) =>
        type.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == name || f.Name == name);

    /// <summary>A change: an HTTP rule other than GET or, for a gRPC-only method, a client stream (an upload).</summary>
    private static bool Changes(MethodDescriptor method) =>
        HttpRule(method) is { } rule ? rule.PatternCase != Google.Api.HttpRule.PatternOneofCase.Get : method.IsClientStreaming;
}
