using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Nano.Testing;

/// <summary>A REST answer: HTTP status and the parsed JSON document.</summary>
public sealed record RestAnswer(HttpStatusCode Status, JsonNode Json, string Text)
{
    public int ErrorCode => Json["error_code"]!.GetValue<int>();

    public string Message => Json["message"]!.GetValue<string>();

    public JsonNode? Data => Json["data"];
}

/// <summary>Real HTTP/1.1 calls to the REST port, with or without a Nano-Session header.</summary>
public sealed class RestClient(HttpClient http) : IDisposable
{
    public HttpClient Http => http;

    public Task<RestAnswer> GetAsync(string path, string? session = null) => SendAsync(HttpMethod.Get, path, null, session);

    public Task<RestAnswer> PostAsync(string path, object? body, string? session = null) => SendAsync(HttpMethod.Post, path, body, session);

    public Task<RestAnswer> PutAsync(string path, object? body, string? session = null) => SendAsync(HttpMethod.Put, path, body, session);

    public Task<RestAnswer> DeleteAsync(string path, object? body = null, string? session = null) => SendAsync(HttpMethod.Delete, path, body, session);

    /// <summary>
    /// Sends <paramref name="body"/>: null for none, a string as raw text, HttpContent as it is, anything else as JSON; with
    /// <paramref name="headers"/> besides the session's.
    /// </summary>
    public async Task<RestAnswer> SendAsync(HttpMethod method, string path, object? body, string? session, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (session is not null)
            request.Headers.Add("Nano-Session", session);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            request.Headers.Add(name, value);
        request.Content = body switch
        {
            null => null,
            HttpContent raw => raw,
            _ => new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(request);
        var content = await response.Content.ReadAsStringAsync();
        return new RestAnswer(response.StatusCode, JsonNode.Parse(content)!, content);
    }

    /// <summary>Uploads an image's content as multipart part "image", with the optional "checksum" part.</summary>
    public async Task<RestAnswer> UploadAsync(string path, Stream content, string? checksum, string? session)
    {
        using var form = new MultipartFormDataContent { { new StreamContent(content), "image", "image.bin" } };
        if (checksum is not null)
            form.Add(new StringContent(checksum), "checksum");
        return await SendAsync(HttpMethod.Post, path, form, session);
    }

    public void Dispose() => http.Dispose();
}
