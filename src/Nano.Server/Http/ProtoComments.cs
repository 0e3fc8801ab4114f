using Google.Protobuf.Reflection;

namespace Nano.Server.Http;

/// <summary>
/// The comments of the public protos, by the full name of what they describe ("nano.v1.Guest", "nano.v1.Guest.cores",
/// "nano.v1.GuestService.CreateGuest", an enum value as "nano.v1.ImageKind.IMAGE_KIND_DISK"). Generated C# keeps no
/// comments, so they come from the descriptor set with source info that Nano.Contracts embeds ("nano-v1.protoset").
/// </summary>
public sealed class ProtoComments
{
    private const string Resource = "nano-v1.protoset";
    private readonly Dictionary<string, string> _comments = new(StringComparer.Ordinal);

    private ProtoComments()
    {
    }

    /// <summary>The comment on <paramref name="fullName"/>, or "" when it has none.</summary>
    public string this[string fullName] => _comments.GetValueOrDefault(fullName, "");

    public static ProtoComments Load()
    {
        using var stream = typeof(Contracts.V1.GuestService).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"Nano.Contracts carries no {Resource}: its build did not run protoc for it");
        var comments = new ProtoComments();
        foreach (var file in FileDescriptorSet.Parser.ParseFrom(stream).File.Where(f => f.Package == "nano.v1"))
        {
            foreach (var location in file.SourceCodeInfo?.Location ?? [])
            {
                var text = location.LeadingComments.Trim();
                if (text.Length > 0 && NameOf(file, location.Path) is { } name)
                    comments._comments[name] = string.Join('\n', text.Split('\n').Select(l => l.Trim()));
            }
        }
        return comments;
    }

    /// <summary>The full name of what a source location's path points at (messages, fields, enums, values, services, methods); null for anything else.</summary>
    private static string? NameOf(FileDescriptorProto file, IList<int> path)
    {
        if (path.Count < 2)
            return null;
        var prefix = file.Package;
        switch (path[0])
        {
            case FileDescriptorProto.ServiceFieldNumber:
            {
                var service = file.Service[path[1]];
                if (path.Count == 2)
                    return $"{prefix}.{service.Name}";
                return path.Count == 4 && path[2] == ServiceDescriptorProto.MethodFieldNumber ? $"{prefix}.{service.Name}.{service.Method[path[3]].Name}" : null;
            }
            case FileDescriptorProto.EnumTypeFieldNumber:
                return EnumName(file.EnumType[path[1]], $"{prefix}.{file.EnumType[path[1]].Name}", path, 2);
            case FileDescriptorProto.MessageTypeFieldNumber:
            {
                var message = file.MessageType[path[1]];
                var name = $"{prefix}.{message.Name}";
                for (var i = 2; i < path.Count; i += 2)
                {
                    if (i + 1 >= path.Count)
                        return null;
                    switch (path[i])
                    {
                        case DescriptorProto.NestedTypeFieldNumber:
                            message = message.NestedType[path[i + 1]];
                            name = $"{name}.{message.Name}";
                            break;
                        case DescriptorProto.FieldFieldNumber:
                            return i + 2 == path.Count ? $"{name}.{message.Field[path[i + 1]].Name}" : null;
                        case DescriptorProto.EnumTypeFieldNumber:
                            return EnumName(message.EnumType[path[i + 1]], $"{name}.{message.EnumType[path[i + 1]].Name}", path, i + 2);
                        default:
                            return null;
                    }
                }
                return name;
            }
            default:
                return null;
        }
    }

    private static string? EnumName(EnumDescriptorProto type, string name, IList<int> path, int at) =>
        path.Count == at ? name
        : path.Count == at + 2 && path[at] == EnumDescriptorProto.ValueFieldNumber ? $"{name}.{type.Value[path[at + 1]].Name}"
        : null;
}
