using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace Nano.Server.Services;

/// <summary>
/// A message as a google.protobuf.Value written the way transcoding writes messages: JSON names,
/// every field (defaults included), 64-bit integers as numbers. For the one route whose data is
/// either a list or an object (#20/#21).
/// </summary>
public static class ProtoValues
{
    public static Value Of(IMessage message)
    {
        var fields = new Struct();
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var value = field.Accessor.GetValue(message);
            fields.Fields[field.JsonName] = field.IsRepeated
                ? Value.ForList([.. ((System.Collections.IEnumerable)value).Cast<object>().Select(v => Scalar(field, v))])
                : Scalar(field, value);
        }
        return Value.ForStruct(fields);
    }

    private static Value Scalar(FieldDescriptor field, object? value) => field.FieldType switch
    {
        FieldType.Message => value is IMessage nested ? Of(nested) : Value.ForNull(),
        FieldType.Bool => Value.ForBool((bool)value!),
        FieldType.String => Value.ForString((string)value!),
        FieldType.Double or FieldType.Float or FieldType.Int32 or FieldType.Int64 or FieldType.UInt32 or FieldType.UInt64
            or FieldType.SInt32 or FieldType.SInt64 or FieldType.Fixed32 or FieldType.Fixed64 or FieldType.SFixed32 or FieldType.SFixed64
            => Value.ForNumber(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)),
        _ => Value.ForString(value?.ToString() ?? ""),
    };
}
