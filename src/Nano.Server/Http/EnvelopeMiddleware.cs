using System.Text.Encodings.Web;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.Extensions.Options;
using Nano.Server.Hosting;

namespace Nano.Server.Http;

/// <summary>
/// Makes every REST answer under /api the Nano envelope. Failures (gRPC statuses written by JSON
/// transcoding, routing 404/405, body errors) become {"error_code","message","data":""} with HTTP 200,
/// or with the code as status when Nano:RestErrorsAsHttpStatus is set. Empty request bodies count
/// as {}; other bodies must be JSON by their content type. gRPC calls (application/grpc) pass untouched.
/// </summary>
public sealed class EnvelopeMiddleware(RequestDelegate next, ILogger<EnvelopeMiddleware> logger)
{
    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    /// <summary>The largest JSON body kept to name what is wrong with it when transcoding refuses it.</summary>
    private const int BodyKept = 1 << 20;

    public async Task InvokeAsync(HttpContext http)
    {
        if (!http.Request.Path.StartsWithSegments("/api") || http.WebSockets.IsWebSocketRequest ||
            http.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            await next(http);
            return;
        }
        if (NormaliseBody(http.Request) is { } refused)
        {
            await WriteFailureAsync(http, 400, refused);
            return;
        }
        if (!http.Request.HasFormContentType && http.Request.ContentType?.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase) != true)
            http.Request.EnableBuffering(BodyKept);
        var original = http.Response.Body;
        var capture = new FailureCapturingStream(original, http.Response);
        http.Response.Body = capture;
        try
        {
            await next(http);
        }
        catch (Exception e) when (!http.Response.HasStarted &&
            http.RequestServices.GetRequiredService<Hosting.FaultInterceptor>().Fault(e, http.Request.Path) is { } fault)
        {
            http.Response.Body = original;
            await WriteFailureAsync(http, NanoErrorCodes.FromGrpc(fault.StatusCode), fault.Status.Detail);
            return;
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            logger.LogError(e, "Unhandled failure on {Method} {Path}", http.Request.Method, http.Request.Path);
            http.Response.StatusCode = 500;
        }
        finally
        {
            http.Response.Body = original;
        }
        if (http.Response.StatusCode >= 400 && !http.Response.HasStarted)
            await WriteFailureAsync(http, capture.Captured);
    }

    /// <summary>Writes the failure envelope for the response's status and captured body.</summary>
    private async Task WriteFailureAsync(HttpContext http, MemoryStream? body)
    {
        var (code, message) = ReadGrpcStatus(body) is { } status
            ? (NanoErrorCodes.FromGrpc(status.Code), status.Message)
            : NanoErrorCodes.FromHttp(http.Response.StatusCode, http.Request);
        if (code == StatusCodes.Status400BadRequest && await MalformedBodyAsync(http) is { } problem)
            message = problem;
        await WriteFailureAsync(http, code, message);
    }

    /// <summary>
    /// Which field of a refused JSON body (or query parameter) is wrong (the body was kept for this), or null. Transcoding says only "Request
    /// JSON payload is not correctly formatted." or a bare conversion error; a body the walk finds wrong never reached
    /// a service, so its finding is the reason.
    /// </summary>
    private static async Task<string?> MalformedBodyAsync(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not { } method)
            return null;
        if (method.HttpRule.Body.Length == 0)
            return MalformedRequest.QueryProblem(http.Request.Query, method.MethodDescriptor.InputType);
        if (!http.Request.Body.CanSeek || http.Request.Body.Length > BodyKept)
            return null;
        http.Request.Body.Position = 0;
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body);
        return MalformedRequest.JsonProblem(body.GetBuffer().AsSpan(0, (int)body.Length), method.MethodDescriptor.InputType, method.HttpRule.Body);
    }

    /// <summary>Writes a failure envelope (for endpoints beside the transcoded services too).</summary>
    public static async Task WriteFailureAsync(HttpContext http, int code, string message)
    {
        var options = http.RequestServices.GetRequiredService<IOptions<NanoOptions>>();
        http.Items[Metrics.ServerMetrics.ErrorCodeItem] = code;
        var response = http.Response;
        response.Headers.Clear();
        response.StatusCode = options.Value.RestErrorsAsHttpStatus ? code : StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        if (message.Length == 0)
            message = code == 501 ? $"{http.Request.Method} {http.Request.Path} is not implemented yet" : $"request failed ({code})";
        await using var json = new Utf8JsonWriter(response.Body, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteNumber("error_code", code);
        json.WriteString("message", message);
        json.WriteString("data", "");
        json.WriteEndObject();
    }

    /// <summary>Transcoding writes a failed call as {"code": gRPC code, "message": ..., "details": []}.</summary>
    private static (StatusCode Code, string Message)? ReadGrpcStatus(MemoryStream? body)
    {
        if (body is null || body.Length == 0)
            return null;
        try
        {
            using var json = JsonDocument.Parse(body.ToArray());
            if (json.RootElement.ValueKind == JsonValueKind.Object &&
                json.RootElement.TryGetProperty("code", out var code) && code.TryGetInt32(out var value))
            {
                var message = json.RootElement.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
                return ((StatusCode)value, message);
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    /// <summary>
    /// An empty body reads as {}. Any other body must say it is JSON (application/json, or a +json type), except an
    /// image upload's multipart form: a web page can make an operator's browser send text/plain or a form to the
    /// server without asking it first (a cross-site request), never JSON. Null when the body is accepted, else why not.
    /// </summary>
    private static string? NormaliseBody(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
            return null;
        var chunked = request.Headers.TransferEncoding.ToString().Contains("chunked", StringComparison.OrdinalIgnoreCase);
        if (request.ContentLength is null or 0 && !chunked)
        {
            request.Body = new MemoryStream(EmptyObject);
            request.ContentLength = EmptyObject.Length;
            request.ContentType = "application/json";
            return null;
        }
        var type = (request.ContentType ?? "").Split(';')[0].Trim();
        if (type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase) ||
            type.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return null;
        return $"a request body must be JSON sent with Content-Type: application/json, not '{(type.Length == 0 ? "none" : type)}' (curl: --json)";
    }
}
