using System.Net;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>GET /console/{guest}: the page and noVNC come from the server itself, same-origin only (the browser test: end-to-end BrowserTests/ClientsOnKvmTests).</summary>
public sealed class ConsolePageTests
{
    [Fact]
    public async Task ThePageAndNoVnc_AreServedByTheServer_UnderAStrictPolicy()
    {
        await using var server = await TestServer.StartAsync();
        using var page = await server.Rest.Http.GetAsync($"/console/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("/console/assets/console.js", await page.Content.ReadAsStringAsync());
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'self'", policy);
        Assert.Contains("frame-ancestors 'none'", policy);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());

        foreach (var (path, type) in new[] { ("/console/assets/console.js", "text/javascript"), ("/console/novnc/core/rfb.js", "text/javascript"), ("/console/assets/console.css", "text/css") })
        {
            using var file = await server.Rest.Http.GetAsync(path);
            Assert.Equal((HttpStatusCode.OK, type), (file.StatusCode, file.Content.Headers.ContentType!.MediaType));
        }
        using var script = await server.Rest.Http.GetAsync("/console/assets/console.js");
        Assert.Contains("from '/console/novnc/core/rfb.js'", await script.Content.ReadAsStringAsync());

        foreach (var path in new[] { "/console/not-a-guest", "/console/..%2F..%2Fetc%2Fpasswd", "/console/novnc/../../nano-server.dll" })
        {
            using var refused = await server.Rest.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }
    }
}
