using Microsoft.Extensions.FileProviders;

namespace Nano.Server.Monitor;

/// <summary>
/// GET /console/{guest}: a page showing the guest's screen with noVNC (from npm, served from the server's own folder
/// console/novnc, with the page's script and style under console/assets). The page needs no session to load (it holds
/// no data); the calls it makes do. Each connect takes a fresh monitor channel (docs/api-decisions.md, B2).
/// </summary>
public static class ConsolePage
{
    public const string Route = "/console/{guest}";

    /// <summary>Same-origin only: the page's script, noVNC's modules, the API and its WebSocket; never framed.</summary>
    private const string Policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "console");

    /// <summary>The console URL of a guest on a server reached at <paramref name="baseAddress"/>, with a session in its fragment.</summary>
    public static string Url(string baseAddress, string guest, string session) => $"{baseAddress.TrimEnd('/')}/console/{guest}#session={Uri.EscapeDataString(session)}";

    public static void Map(WebApplication app)
    {
        if (!Directory.Exists(Path.Combine(Folder, "novnc")))
            throw new InvalidOperationException($"the console page's files are missing from {Folder}: build nano-server with tools/node_modules installed (npm ci --prefix tools)");
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(Folder),
            RequestPath = "/console",
            OnPrepareResponse = files => files.Context.Response.Headers.XContentTypeOptions = "nosniff",
        });
        app.MapGet(Route, (HttpContext http, string guest) =>
        {
            if (!Guid.TryParse(guest, out _))
                return Results.NotFound();
            http.Response.Headers.ContentSecurityPolicy = Policy;
            http.Response.Headers.XFrameOptions = "DENY";
            http.Response.Headers.CacheControl = "no-store";
            return Results.File(Path.Combine(Folder, "assets", "console.html"), "text/html; charset=utf-8");
        });
    }
}
