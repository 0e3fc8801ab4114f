using System.Text.Json.Nodes;

namespace Nano.Testing;

/// <summary>Asserts that a JSON document equals the expected one exactly (same keys, values and array order).</summary>
public static class JsonAssert
{
    public static void Equal(string expected, RestAnswer actual)
    {
        var want = JsonNode.Parse(expected)!;
        Assert.True(JsonNode.DeepEquals(want, actual.Json),
            $"expected {want.ToJsonString()}{Environment.NewLine}but got  {actual.Text}");
    }

    /// <summary>The whole envelope of a success: HTTP 200, error_code 0, message "", and exactly this data.</summary>
    public static void Success(string expectedData, RestAnswer actual)
    {
        Assert.Equal(System.Net.HttpStatusCode.OK, actual.Status);
        Equal($$"""{"error_code":0,"message":"","data":{{expectedData}}}""", actual);
    }

    /// <summary>A failure envelope with HTTP 200 (the default transport), this code, a message and data "".</summary>
    public static void Failure(int code, RestAnswer actual)
    {
        Assert.Equal(System.Net.HttpStatusCode.OK, actual.Status);
        Assert.True(actual.Json is JsonObject { Count: 3 }, actual.Text);
        Assert.Equal(code, actual.ErrorCode);
        Assert.False(string.IsNullOrWhiteSpace(actual.Message), actual.Text);
        Assert.Equal("", actual.Data!.GetValue<string>());
    }
}
