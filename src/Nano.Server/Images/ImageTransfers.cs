using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Http;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Images;

/// <summary>
/// The REST image transfers (#74, #75, #81, B11 and their A5 twins). JSON transcoding buffers a whole
/// body and cannot answer byte ranges, so these few routes are endpoints beside the gRPC services:
/// uploads stream the multipart part "image" (or a raw body) straight into the store, downloads
/// stream the file with Content-Length and Range support. Both need a session, like every route.
/// </summary>
public static class ImageTransfers
{
    private const int MaxChecksumLength = 256;

    private static readonly (string Kind, string[] Paths)[] Paths =
    [
        (ImageKinds.Media, ["/api/v1/media_image_files/{id}", "/api/v1/media_images/{id}/file"]),
        (ImageKinds.Disk, ["/api/v1/disk_image_files/{id}", "/api/v1/disk_images/{id}/file"]),
    ];

    /// <summary>The routes these endpoints serve: an upload (POST) and a download (GET) at each path.</summary>
    public static IReadOnlyList<(string Method, string Template)> Routes { get; } =
        [.. Paths.SelectMany(p => p.Paths).SelectMany(path => new[] { ("POST", path), ("GET", path) })];

    public static void Map(WebApplication app)
    {
        foreach (var (kind, paths) in Paths)
        {
            foreach (var path in paths)
            {
                app.MapPost(path, (HttpContext http, string id) => UploadAsync(http, kind, id));
                app.MapGet(path, (HttpContext http, string id) => DownloadAsync(http, kind, id));
            }
        }
    }

    private static async Task UploadAsync(HttpContext http, string kind, string id)
    {
        try
        {
            var session = await AuthenticateAsync(http);
            var store = http.RequestServices.GetRequiredService<ImageStore>();
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = null;
            await http.RequestServices.GetRequiredService<ImageCatalog>().UploadAsync(session, kind, id, () => ReadBodyAsync(http.Request, store, http.RequestAborted));
            http.Response.ContentType = "application/json; charset=utf-8";
            await http.Response.WriteAsync("""{"error_code":0,"message":"","data":""}""", http.RequestAborted);
        }
        catch (RpcException e)
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, NanoErrorCodes.FromGrpc(e.StatusCode), e.Status.Detail);
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException or OperationCanceledException)
        {
            // The client went away or sent a broken body: the image was left as it was.
            if (!http.RequestAborted.IsCancellationRequested)
                await EnvelopeMiddleware.WriteFailureAsync(http, 400, $"the upload broke off: {e.Message}");
        }
    }

    private static async Task DownloadAsync(HttpContext http, string kind, string id)
    {
        try
        {
            var (image, path) = await http.RequestServices.GetRequiredService<ImageCatalog>().OpenAsync(await AuthenticateAsync(http), kind, id);
            http.Response.Headers["Signature"] = image.Sha1;
            await Results.File(path, "application/octet-stream", enableRangeProcessing: true).ExecuteAsync(http);
        }
        catch (RpcException e)
        {
            await EnvelopeMiddleware.WriteFailureAsync(http, NanoErrorCodes.FromGrpc(e.StatusCode), e.Status.Detail);
        }
    }

    private static Task<SessionContext> AuthenticateAsync(HttpContext http) =>
        http.RequestServices.GetRequiredService<SessionInterceptor>().AuthenticateAsync(http.Request.Headers[SessionInterceptor.Header].ToString());

    /// <summary>
    /// Multipart: part "image" is the content, an optional part "checksum" its SHA-1 (before or after it).
    /// Any other body is the content itself.
    /// </summary>
    private static async Task<(StagedContent Content, string? Sha1)> ReadBodyAsync(HttpRequest request, ImageStore store, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return (await store.StageAsync(request.Body, cancellationToken, store.MaxUploadBytes, request.ContentLength), null);
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        if (string.IsNullOrEmpty(boundary))
            throw Fail.Invalid("multipart body without a boundary");
        var reader = new MultipartReader(boundary, request.Body);
        StagedContent? content = null;
        string? checksum = null;
        try
        {
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                var name = ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    ? HeaderUtilities.RemoveQuotes(disposition.Name).Value
                    : null;
                if (name == "image" && content is null)
                    content = await store.StageAsync(section.Body, cancellationToken, store.MaxUploadBytes);
                else if (name == "checksum")
                    checksum = await ReadSmallTextAsync(section.Body, cancellationToken);
                else
                    await section.Body.DrainAsync(cancellationToken);
            }
        }
        catch
        {
            ImageStore.Discard(content);
            throw;
        }
        return (content ?? throw Fail.Invalid("the multipart body has no part named 'image'"), checksum);
    }

    private static async Task<string> ReadSmallTextAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxChecksumLength + 1];
        var read = await body.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        if (read > MaxChecksumLength)
            throw Fail.Invalid("the checksum part is too long");
        return Encoding.ASCII.GetString(buffer, 0, read).Trim();
    }
}
