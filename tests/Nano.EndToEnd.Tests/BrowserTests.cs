using Nano.Testing;
using Xunit.Abstractions;

namespace Nano.EndToEnd.Tests;

/// <summary>The server's pages in a real browser (headless Chromium), as a person opens them.</summary>
public sealed class BrowserTests(ITestOutputHelper output)
{
    /// <summary>/api/docs/ draws the OpenAPI document: scrolled down to the guests section, it lists the guests routes.</summary>
    [Fact]
    public async Task TheApiReferencePage_ListsTheGuestsRoutes()
    {
        await using var server = await TestServer.StartAsync();
        var screenshot = Path.Combine(AppContext.BaseDirectory, "api-docs.png");
        var page = await BrowserScript.RunAsync(output, "docs-page.js", server.Rest.Http.BaseAddress!.ToString().TrimEnd('/'), screenshot);
        Assert.StartsWith("Nano FrontEnd API (Nano.Grpc)", page["title"]!.GetValue<string>());
        Assert.Contains("GuestService", page["sections"]!.AsArray().Select(s => s!.GetValue<string>()));
        var routes = page["guestRoutes"]!.AsArray().Select(r => r!.GetValue<string>()).ToList();
        Assert.Contains("POST /api/v1/guests", routes);
        Assert.Contains("GET /api/v1/guests/{id}", routes);
        Assert.Contains("DELETE /api/v1/guests/{id}", routes);
        Assert.True(File.Exists(screenshot));
    }
}
