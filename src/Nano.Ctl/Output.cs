using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Spectre.Console;

namespace Nano.Ctl;

/// <summary>Prints what the server answered: a table of chosen fields (the default), or JSON (-o json) with the API's field names.</summary>
public static class Output
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void List<T>(IEnumerable<T> items, bool json, params string[] columns) where T : IMessage
    {
        var list = items.ToList();
        if (json)
        {
            Console.WriteLine(new JsonArray([.. list.Select(i => (JsonNode)ToJson(i))]).ToJsonString(Indented));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
            table.AddColumn(new TableColumn(column.ToUpperInvariant()));
        foreach (var item in list)
            table.AddRow(columns.Select(c => Markup.Escape(Value(item, c))).ToArray());
        AnsiConsole.Write(table);
    }

    /// <summary>One object: every field as a row of a two-column table, or its JSON.</summary>
    public static void One(IMessage item, bool json)
    {
        if (json)
        {
            Console.WriteLine(ToJson(item).ToJsonString(Indented));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("field").AddColumn("value");
        foreach (var field in item.Descriptor.Fields.InDeclarationOrder())
            table.AddRow(Markup.Escape(field.JsonName), Markup.Escape(Value(item, field.JsonName)));
        AnsiConsole.Write(table);
    }

    private static string Value(IMessage item, string jsonName)
    {
        var field = item.Descriptor.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == jsonName);
        if (field is null)
            return "";
        var value = field.Accessor.GetValue(item);
        return value switch
        {
            null => "",
            System.Collections.IList list => string.Join(", ", list.Cast<object>().Select(Text)),
            _ => Text(value),
        };
    }

    private static string Text(object value) => value switch
    {
        IMessage message => ToJson(message).ToJsonString(),
        bool b => b ? "yes" : "no",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>
    /// A message as the REST API writes it: the fields' JSON names, every field present, 64-bit integers as numbers
    /// (protobuf's own JSON writes them as strings).
    /// </summary>
    public static JsonObject ToJson(IMessage message)
    {
        var json = new JsonObject();
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var value = field.Accessor.GetValue(message);
            json[field.JsonName] = value switch
            {
                System.Collections.IDictionary map => new JsonObject(map.Keys.Cast<object>().Select(k => KeyValuePair.Create(k.ToString()!, Node(map[k])))),
                System.Collections.IList list => new JsonArray([.. list.Cast<object>().Select(Node)]),
                _ => Node(value),
            };
        }
        return json;
    }

    private static JsonNode? Node(object? value) => value switch
    {
        null => null,
        IMessage message => ToJson(message),
        ByteString bytes => JsonValue.Create(bytes.ToBase64()),
        Enum e => JsonValue.Create(e.ToString()),
        _ => JsonSerializer.SerializeToNode(value),
    };

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"nanoctl: {message}");
        return 1;
    }
}
