using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Google.Api;
using Google.Protobuf.Reflection;
using Nano.Server.Domain;
using Nano.Server.Images;

namespace Nano.Server.Http;

/// <summary>
/// The OpenAPI 3 document of the REST API (GET /api/openapi.json), generated once from the protos: every google.api.http
/// rule and additional binding becomes an operation, with the rpc's comment as its description, its path fields as path
/// parameters, the rest of its request as the JSON body (body "*") or as query parameters, and its response message,
/// envelope fields included, as the answer; every message a route reaches is a schema whose properties carry the JSON
/// names and the fields' comments. The image transfers beside the services (multipart uploads, ranged downloads) are
/// described by hand. The reference page at /api/docs/ (Swagger UI, from NuGet) reads it.
/// </summary>
public static partial class OpenApiDocument
{
    public const string Route = "/api/openapi.json";
    public const string DocsPrefix = "api/docs";
    private const string SessionScheme = "NanoSession";

    private static readonly Lazy<byte[]> Document = new(() => Encoding.UTF8.GetBytes(Build(ProtoComments.Load()).ToJsonString()));

    /// <summary>GET /api/openapi.json and the reference page under /api/docs/; neither needs a session (they describe, they change nothing).</summary>
    public static void Map(WebApplication app)
    {
        app.MapGet(Route, () => Results.Bytes(Document.Value, "application/json"));
        app.UseSwaggerUI(o =>
        {
            o.RoutePrefix = DocsPrefix;
            o.DocumentTitle = "Nano.Grpc REST API";
            o.SwaggerEndpoint(Route, "Nano FrontEnd API v1.3.1");
        });
    }

    /// <summary>The document as JSON (public for the tests and tools).</summary>
    public static JsonObject Build(ProtoComments comments)
    {
        var builder = new Builder(comments);
        foreach (var method in ApiCatalog.Methods.Values.OrderBy(m => m.Path, StringComparer.Ordinal))
        {
            if (ApiCatalog.HttpRule(method.Descriptor) is not { } rule)
                continue;
            builder.AddRule(method, rule, "");
            for (var i = 0; i < rule.AdditionalBindings.Count; i++)
                builder.AddRule(method, rule.AdditionalBindings[i], $"_{i + 2}");
        }
        builder.AddImageTransfers();
        return builder.Finish();
    }

    [GeneratedRegex(@"\{([A-Za-z0-9_.]+)(=[^}]*)?\}")]
    private static partial Regex PathVariable();

    private sealed class Builder(ProtoComments comments)
    {
        private readonly SortedDictionary<string, JsonObject> _paths = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, JsonNode> _schemas = new(StringComparer.Ordinal);
        private readonly SortedSet<string> _services = new(StringComparer.Ordinal);

        /// <summary>The operation of one rule; <paramref name="suffix"/> tells an additional binding's operationId from the rpc's first.</summary>
        public void AddRule(ApiMethod rpc, HttpRule rule, string suffix)
        {
            var (method, template) = ApiCatalog.Route(rule);
            var verb = method.ToLowerInvariant();
            var descriptor = rpc.Descriptor;
            var input = descriptor.InputType;
            var bound = PathVariable().Matches(template).Select(m => m.Groups[1].Value).ToList();
            var parameters = new JsonArray();
            foreach (var name in bound)
                parameters.Add(Parameter(name, "path", Field(input, name)));
            if (rule.Body.Length == 0)
            {
                foreach (var (name, field) in QueryFields(input, "", bound))
                    parameters.Add(Parameter(name, "query", field));
            }
            var description = comments[descriptor.FullName];
            if (descriptor.IsServerStreaming)
                description += "\n\nOver REST the answer is a stream: one JSON object per update, until the call ends.";
            var operation = new JsonObject
            {
                ["operationId"] = $"{descriptor.Service.Name}_{descriptor.Name}{suffix}",
                ["tags"] = new JsonArray(descriptor.Service.Name),
                ["summary"] = Summary(description),
                ["description"] = description,
                ["parameters"] = parameters,
                ["responses"] = Responses(Reference(descriptor.OutputType)),
            };
            if (AccessRules.IsAnonymous(rpc))
                operation["security"] = new JsonArray();
            if (rule.Body.Length > 0)
            {
                var body = rule.Body == "*" ? BodySchema(input, bound) : FieldSchema(input.FindFieldByName(rule.Body));
                operation["requestBody"] = new JsonObject
                {
                    ["required"] = false,
                    ["description"] = "JSON, sent with Content-Type: application/json; an empty body reads as {}.",
                    ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = body } },
                };
            }
            _services.Add(descriptor.Service.FullName);
            Path(PathVariable().Replace(template, "{$1}"))[verb] = operation;
        }

        /// <summary>The multipart uploads and ranged downloads of image files, served beside the transcoded services.</summary>
        public void AddImageTransfers()
        {
            foreach (var (method, template) in ImageTransfers.Routes)
            {
                var kind = template.Contains("media", StringComparison.Ordinal) ? "media" : "disk";
                var id = new JsonArray(Parameter("id", "path", null, $"The {kind} image's id."));
                var operation = method == "GET"
                    ? new JsonObject
                    {
                        ["operationId"] = $"ImageTransfers_Download_{Operation(template)}",
                        ["tags"] = new JsonArray("ImageTransfers"),
                        ["summary"] = $"Download a {kind} image's file.",
                        ["description"] = $"Download a {kind} image's file, with Content-Length and byte ranges (Range: bytes=…).",
                        ["parameters"] = id,
                        ["responses"] = new JsonObject
                        {
                            ["200"] = new JsonObject
                            {
                                ["description"] = "The file.",
                                ["content"] = new JsonObject { ["application/octet-stream"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "string", ["format"] = "binary" } } },
                            },
                            ["206"] = new JsonObject { ["description"] = "The byte range asked for." },
                        },
                    }
                    : new JsonObject
                    {
                        ["operationId"] = $"ImageTransfers_Upload_{Operation(template)}",
                        ["tags"] = new JsonArray("ImageTransfers"),
                        ["summary"] = $"Upload a {kind} image's file.",
                        ["description"] = $"Upload a {kind} image's file as the multipart part \"image\" (with an optional part \"checksum\"), streamed into the image store; the image's progress follows the bytes.",
                        ["parameters"] = id,
                        ["requestBody"] = new JsonObject
                        {
                            ["required"] = true,
                            ["content"] = new JsonObject
                            {
                                ["multipart/form-data"] = new JsonObject
                                {
                                    ["schema"] = new JsonObject
                                    {
                                        ["type"] = "object",
                                        ["properties"] = new JsonObject
                                        {
                                            ["image"] = new JsonObject { ["type"] = "string", ["format"] = "binary" },
                                            ["checksum"] = new JsonObject { ["type"] = "string" },
                                        },
                                        ["required"] = new JsonArray("image"),
                                    },
                                },
                            },
                        },
                        ["responses"] = Responses(Envelope()),
                    };
                Path(template)[method.ToLowerInvariant()] = operation;
            }
        }

        public JsonObject Finish()
        {
            var tags = new JsonArray();
            foreach (var service in _services)
                tags.Add(new JsonObject { ["name"] = service[(service.LastIndexOf('.') + 1)..], ["description"] = comments[service] });
            tags.Add(new JsonObject { ["name"] = "ImageTransfers", ["description"] = "Image files up and down, beside the services: multipart uploads, ranged downloads." });
            var paths = new JsonObject();
            foreach (var (path, item) in _paths)
                paths[path] = item;
            var schemas = new JsonObject();
            foreach (var (name, schema) in _schemas)
                schemas[name] = schema;
            return new JsonObject
            {
                ["openapi"] = "3.0.3",
                ["info"] = new JsonObject
                {
                    ["title"] = "Nano FrontEnd API (Nano.Grpc)",
                    ["version"] = "1.3.1",
                    ["description"] =
                        "The REST face of Nano.Grpc's gRPC services (JSON transcoding). Every answer is the envelope " +
                        "{\"error_code\", \"message\", \"data\"}: error_code 0 on success, else the HTTP status the failure maps to " +
                        "(answered with HTTP 200 unless the server runs with Nano:RestErrorsAsHttpStatus). Every route but login " +
                        "and the first run needs the header Nano-Session. Paths answer with and without a trailing slash. " +
                        $"Server {Services.SystemService.ServerVersion}.",
                },
                ["tags"] = tags,
                ["paths"] = paths,
                ["components"] = new JsonObject
                {
                    ["securitySchemes"] = new JsonObject
                    {
                        [SessionScheme] = new JsonObject
                        {
                            ["type"] = "apiKey", ["in"] = "header", ["name"] = "Nano-Session",
                            ["description"] = "The session id POST /api/v1/sessions/ answers; kept alive by PUT /api/v1/sessions/{session}.",
                        },
                    },
                    ["schemas"] = schemas,
                },
                ["security"] = new JsonArray(new JsonObject { [SessionScheme] = new JsonArray() }),
            };
        }

        private JsonObject Path(string template)
        {
            if (!_paths.TryGetValue(template, out var item))
                _paths[template] = item = new JsonObject();
            return item;
        }

        private JsonObject Parameter(string name, string where, FieldDescriptor? field, string? description = null) => new()
        {
            ["name"] = name,
            ["in"] = where,
            ["required"] = where == "path",
            ["description"] = description ?? (field is null ? "" : comments[field.FullName]),
            ["schema"] = field is null ? new JsonObject { ["type"] = "string" } : FieldSchema(field, describe: false),
        };

        /// <summary>The scalar fields of a request not bound in the path, nested ones as "a.b" (how transcoding reads a query).</summary>
        private static IEnumerable<(string Name, FieldDescriptor Field)> QueryFields(MessageDescriptor type, string prefix, IReadOnlyCollection<string> bound)
        {
            foreach (var field in type.Fields.InDeclarationOrder())
            {
                var name = prefix + field.JsonName;
                if (bound.Contains(name))
                    continue;
                if (field.FieldType == FieldType.Message && !field.IsRepeated && prefix.Length == 0)
                {
                    foreach (var nested in QueryFields(field.MessageType, name + ".", bound))
                        yield return nested;
                }
                else if (field.FieldType != FieldType.Message)
                {
                    yield return (name, field);
                }
            }
        }

        private static FieldDescriptor? Field(MessageDescriptor type, string path)
        {
            FieldDescriptor? field = null;
            foreach (var part in path.Split('.'))
            {
                field = ApiCatalog.Field(type, part);
                if (field?.FieldType != FieldType.Message)
                    return field;
                type = field.MessageType;
            }
            return field;
        }

        /// <summary>A body "*": the request's fields less those the path binds.</summary>
        private JsonObject BodySchema(MessageDescriptor type, IReadOnlyCollection<string> bound)
        {
            var properties = new JsonObject();
            foreach (var field in type.Fields.InDeclarationOrder().Where(f => !bound.Contains(f.JsonName) && !bound.Contains(f.Name)))
                properties[field.JsonName] = FieldSchema(field);
            return new JsonObject { ["type"] = "object", ["description"] = comments[type.FullName], ["properties"] = properties };
        }

        private JsonObject FieldSchema(FieldDescriptor field, bool describe = true)
        {
            JsonObject schema;
            if (field.IsMap)
                schema = new JsonObject { ["type"] = "object", ["additionalProperties"] = ValueSchema(field.MessageType.FindFieldByNumber(2)) };
            else if (field.IsRepeated)
                schema = new JsonObject { ["type"] = "array", ["items"] = ValueSchema(field) };
            else if (ValueSchema(field) is var value && value.ContainsKey("$ref"))
                schema = new JsonObject { ["allOf"] = new JsonArray(value) }; // a $ref takes no siblings in OpenAPI 3.0
            else
                schema = value;
            if (describe && comments[field.FullName] is { Length: > 0 } text)
                schema["description"] = text;
            return schema;
        }

        private JsonObject ValueSchema(FieldDescriptor field) => field.FieldType switch
        {
            FieldType.Message or FieldType.Group => Reference(field.MessageType),
            FieldType.Bool => new JsonObject { ["type"] = "boolean" },
            FieldType.String => new JsonObject { ["type"] = "string" },
            FieldType.Bytes => new JsonObject { ["type"] = "string", ["format"] = "byte" },
            FieldType.Double => new JsonObject { ["type"] = "number", ["format"] = "double" },
            FieldType.Float => new JsonObject { ["type"] = "number", ["format"] = "float" },
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => new JsonObject { ["type"] = "integer", ["format"] = "int32" },
            FieldType.UInt32 or FieldType.Fixed32 => new JsonObject { ["type"] = "integer", ["format"] = "int32", ["minimum"] = 0 },
            FieldType.UInt64 or FieldType.Fixed64 => new JsonObject { ["type"] = "integer", ["format"] = "int64", ["minimum"] = 0 },
            FieldType.Enum => new JsonObject
            {
                ["type"] = "string",
                ["enum"] = new JsonArray([.. field.EnumType.Values.Select(v => (JsonNode)v.Name)]),
            },
            _ => new JsonObject { ["type"] = "integer", ["format"] = "int64" },
        };

        /// <summary>A $ref to the message's schema, made on first use; well-known types as their JSON form.</summary>
        private JsonObject Reference(MessageDescriptor type)
        {
            switch (type.FullName)
            {
                case "google.protobuf.Value":
                    return new JsonObject { ["description"] = "Any JSON value." };
                case "google.protobuf.Struct":
                    return new JsonObject { ["type"] = "object" };
                case "google.protobuf.Timestamp":
                    return new JsonObject { ["type"] = "string", ["format"] = "date-time" };
            }
            if (!_schemas.ContainsKey(type.FullName))
            {
                _schemas[type.FullName] = new JsonObject(); // placeholder: a message may reach itself
                var properties = new JsonObject();
                foreach (var field in type.Fields.InDeclarationOrder())
                    properties[field.JsonName] = FieldSchema(field);
                _schemas[type.FullName] = new JsonObject { ["type"] = "object", ["description"] = comments[type.FullName], ["properties"] = properties };
            }
            return new JsonObject { ["$ref"] = $"#/components/schemas/{type.FullName}" };
        }

        private static JsonObject Responses(JsonObject schema) => new()
        {
            ["200"] = new JsonObject
            {
                ["description"] = "The envelope: error_code 0 and the data on success; a non-zero error_code and the reason in message otherwise.",
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = schema } },
            },
        };

        private static JsonObject Envelope() => new()
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["error_code"] = new JsonObject { ["type"] = "integer", ["format"] = "int32" },
                ["message"] = new JsonObject { ["type"] = "string" },
                ["data"] = new JsonObject { ["type"] = "string" },
            },
        };

        private static string Operation(string template) => template.Split('/', StringSplitOptions.RemoveEmptyEntries)[2];

        private static string Summary(string description)
        {
            var first = description.Split('\n')[0];
            var stop = first.IndexOf(". ", StringComparison.Ordinal);
            return stop > 0 ? first[..(stop + 1)] : first;
        }
    }
}
