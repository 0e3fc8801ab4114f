using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Nano.Server.Domain;

namespace Nano.Server.Http;

/// <summary>
/// Names the field a malformed request went wrong at, for the message of its INVALID_ARGUMENT: JSON transcoding says
/// only "Request JSON payload is not correctly formatted." and protobuf's parser only what it met, not where. Both
/// walks run after a request was refused, never on the way of a good one.
/// </summary>
public static class MalformedRequest
{
    private const int Shown = 40;

    /// <summary>Why <paramref name="body"/> is not the JSON of <paramref name="type"/> (or of its field <paramref name="bodyField"/>); null when the walk finds nothing.</summary>
    public static string? JsonProblem(ReadOnlySpan<byte> body, MessageDescriptor type, string bodyField)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException e)
        {
            return $"the request body is not JSON: {e.Message}";
        }
        using (document)
        {
            if (bodyField is "" or "*")
                return Message(document.RootElement, type, "");
            return type.FindFieldByName(bodyField) is { } field ? Field(document.RootElement, field, field.JsonName) : null;
        }
    }

    /// <summary>Which query parameter (a field of <paramref name="type"/>, "a.b" for a nested one) does not hold a value of its field's type; null when none.</summary>
    public static string? QueryProblem(IEnumerable<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>> query, MessageDescriptor type)
    {
        foreach (var (key, values) in query)
        {
            FieldDescriptor? field = null;
            var owner = type;
            foreach (var part in key.Split('.'))
            {
                field = owner is null ? null : ApiCatalog.Field(owner, part);
                owner = field?.FieldType == FieldType.Message ? field.MessageType : null;
            }
            if (field is null || field.FieldType is FieldType.Message or FieldType.Group)
                continue;
            foreach (var text in values)
            {
                var value = field.FieldType == FieldType.Bool && text is "true" or "false"
                    ? JsonSerializer.SerializeToElement(text == "true")
                    : JsonSerializer.SerializeToElement(text);
                if (Single(value, field, key) is { } problem)
                    return problem.Replace("field '", "query parameter '", StringComparison.Ordinal);
            }
        }
        return null;
    }

    /// <summary>Where a protobuf message that does not parse as <paramref name="type"/> went wrong: "field 'x.y': why"; null when no field is to blame.</summary>
    public static string? WireProblem(byte[] message, MessageDescriptor type) => Wire(message, type, "");

    private static string? Message(JsonElement value, MessageDescriptor type, string path)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        switch (type.FullName)
        {
            case "google.protobuf.Timestamp" or "google.protobuf.Duration" or "google.protobuf.FieldMask":
                return value.ValueKind == JsonValueKind.String ? null : Expected(path, "a string", value);
            case "google.protobuf.Value":
                return null;
            case "google.protobuf.ListValue":
                return value.ValueKind == JsonValueKind.Array ? null : Expected(path, "a list", value);
        }
        if (type.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal) && type.FullName.EndsWith("Value", StringComparison.Ordinal))
            return Single(value, type.FindFieldByNumber(1), path); // a wrapper is its value
        if (value.ValueKind != JsonValueKind.Object)
            return Expected(path, "an object", value);
        if (type.FullName is "google.protobuf.Struct" or "google.protobuf.Any")
            return null;
        foreach (var property in value.EnumerateObject())
        {
            var field = ApiCatalog.Field(type, property.Name);
            if (field is not null && Field(property.Value, field, Join(path, property.Name)) is { } problem)
                return problem;
        }
        return null;
    }

    private static string? Field(JsonElement value, FieldDescriptor field, string path)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        if (field.IsMap)
        {
            if (value.ValueKind != JsonValueKind.Object)
                return Expected(path, "an object", value);
            var entry = field.MessageType.FindFieldByNumber(2);
            return value.EnumerateObject().Select(p => Single(p.Value, entry, $"{path}.{p.Name}")).FirstOrDefault(p => p is not null);
        }
        if (field.IsRepeated)
        {
            if (value.ValueKind != JsonValueKind.Array)
                return Expected(path, "a list", value);
            return value.EnumerateArray().Select((item, i) => Single(item, field, $"{path}[{i}]")).FirstOrDefault(p => p is not null);
        }
        return Single(value, field, path);
    }

    private static string? Single(JsonElement value, FieldDescriptor field, string path) => field.FieldType switch
    {
        FieldType.Message or FieldType.Group => Message(value, field.MessageType, path),
        FieldType.Bool => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : Expected(path, "true or false", value),
        FieldType.String => value.ValueKind == JsonValueKind.String ? null : Expected(path, "a string", value),
        FieldType.Bytes => value.ValueKind == JsonValueKind.String && value.TryGetBytesFromBase64(out _) ? null : Expected(path, "base64 text", value),
        FieldType.Enum => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _) ||
                          value.ValueKind == JsonValueKind.String && field.EnumType.FindValueByName(value.GetString()!) is not null
            ? null
            : Expected(path, $"one of {string.Join(", ", field.EnumType.Values.Select(v => v.Name))}", value),
        FieldType.Double or FieldType.Float => Number(value) is not null ? null : Expected(path, "a number", value),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Whole(value, int.MinValue, int.MaxValue) ? null : Expected(path, "a 32-bit integer", value),
        FieldType.UInt32 or FieldType.Fixed32 => Whole(value, 0, uint.MaxValue) ? null : Expected(path, "a 32-bit integer of 0 or more", value),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Whole(value, long.MinValue, long.MaxValue) ? null : Expected(path, "an integer", value),
        _ => Whole(value, 0, ulong.MaxValue) ? null : Expected(path, "an integer of 0 or more", value),
    };

    /// <summary>A JSON number, or a string holding one (protobuf's JSON allows both).</summary>
    private static decimal? Number(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number when value.TryGetDecimal(out var d) => d,
        JsonValueKind.String when decimal.TryParse(value.GetString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    private static bool Whole(JsonElement value, decimal least, decimal most) =>
        Number(value) is { } n && n == decimal.Truncate(n) && n >= least && n <= most;

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Expected(string path, string what, JsonElement value)
    {
        var raw = value.GetRawText();
        var shown = raw.Length <= Shown ? raw : raw[..Shown] + "...";
        return path.Length == 0 ? $"the request body must be {what}, not {shown}" : $"field '{path}': expected {what}, got {shown}";
    }

    private static string? Wire(byte[] message, MessageDescriptor type, string path)
    {
        var input = new CodedInputStream(message);
        FieldDescriptor? field = null;
        var number = 0;
        try
        {
            while (!input.IsAtEnd)
            {
                (field, number) = (null, 0);
                var tag = input.ReadTag();
                number = WireFormat.GetTagFieldNumber(tag);
                field = type.FindFieldByNumber(number);
                if (field is { FieldType: FieldType.Message } && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                {
                    if (Wire(input.ReadBytes().ToByteArray(), field.MessageType, Join(path, field.JsonName)) is { } inner)
                        return inner;
                }
                else
                {
                    input.SkipLastField();
                }
            }
            return null;
        }
        catch (InvalidProtocolBufferException e)
        {
            var at = field is not null ? Join(path, field.JsonName) : number > 0 ? Join(path, $"#{number}") : path;
            return at.Length == 0 ? null : $"field '{at}': {e.Message}";
        }
    }
}
