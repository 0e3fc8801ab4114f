using System.Net;
using System.Text.Json.Nodes;
using Nano.Server.Http;
using Nano.Testing;
using Xunit.Abstractions;

namespace Nano.Server.Tests;

/// <summary>GET /api/openapi.json: every documented route with its method, described by the protos' comments; /api/docs/ serves the page that reads it.</summary>
public sealed class OpenApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private TestServer _server = null!;
    private JsonObject _document = null!;

    public async Task InitializeAsync()
    {
        _server = await TestServer.StartAsync();
        using var answer = await _server.Rest.Http.GetAsync(OpenApiDocument.Route); // no session: documentation changes nothing
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("application/json", answer.Content.Headers.ContentType?.MediaType);
        _document = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!.AsObject();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private IEnumerable<(string Method, string Path, JsonObject Operation)> Operations =>
        _document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject().Select(o => (o.Key.ToUpperInvariant(), p.Key, o.Value!.AsObject())));

    [Fact]
    public void EveryDocumentedRoute_IsInTheDocument_WithItsMethod()
    {
        var documented = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "documented-routes.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' '))
            .ToList();
        var operations = Operations.Select(o => (o.Method, ContractTests.Shape(o.Path))).ToHashSet();
        var missing = documented.Where(d => !operations.Contains((d[1], ContractTests.Shape("/api/v1" + d[2])))).Select(d => string.Join(' ', d)).ToList();
        output.WriteLine($"{documented.Count} documented routes, {documented.Count - missing.Count} in the document; {operations.Count} operations on {_document["paths"]!.AsObject().Count} paths");
        Assert.Equal(131, documented.Count);
        Assert.Empty(missing);
        Assert.Equal("3.0.3", _document["openapi"]!.GetValue<string>());
    }

    [Fact]
    public void Descriptions_AreTheProtosComments()
    {
        var get = Operations.Single(o => o.Method == "GET" && o.Path == "/api/v1/guests/{id}").Operation;
        Assert.Equal("GuestService_GetGuest", get["operationId"]!.GetValue<string>());
        Assert.StartsWith("Gets a guest's configuration", get["description"]!.GetValue<string>());
        var id = get["parameters"]!.AsArray().Single()!;
        Assert.Equal(("id", "path", "Guest id (UUID)."), (id["name"]!.GetValue<string>(), id["in"]!.GetValue<string>(), id["description"]!.GetValue<string>()));

        var guest = _document["components"]!["schemas"]!["nano.v1.Guest"]!;
        Assert.False(string.IsNullOrEmpty(guest["description"]!.GetValue<string>()));
        Assert.Equal("integer", guest["properties"]!["cores"]!["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(guest["properties"]!["cores"]!["description"]!.GetValue<string>()));
        Assert.NotNull(guest["properties"]!["auto_start"]); // JSON names, not lowerCamelCase
        var policy = _document["components"]!["schemas"]!["nano.v1.SecurityPolicyGroup"]!["properties"]!;
        Assert.NotNull(policy["global"]);
        Assert.Null(policy["is_global"]);

        var undescribed = Operations.Where(o => string.IsNullOrWhiteSpace(o.Operation["description"]?.GetValue<string>())).Select(o => $"{o.Method} {o.Path}").ToList();
        Assert.Empty(undescribed);
    }

    [Fact]
    public void BodiesQueriesAndSessions_AreDescribedAsServed()
    {
        var create = Operations.Single(o => o.Method == "POST" && o.Path == "/api/v1/guests").Operation;
        var body = create["requestBody"]!["content"]!["application/json"]!["schema"]!["properties"]!.AsObject();
        Assert.Contains("cores", body.Select(p => p.Key));
        var login = Operations.Single(o => o.Method == "POST" && o.Path == "/api/v1/sessions").Operation;
        Assert.Empty(login["security"]!.AsArray()); // login needs no session; everything else names the Nano-Session header
        Assert.Equal("Nano-Session", _document["components"]!["securitySchemes"]!["NanoSession"]!["name"]!.GetValue<string>());
        var logs = Operations.Single(o => o.Method == "GET" && o.Path == "/api/v1/logs").Operation;
        Assert.Contains(logs["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == "limit" && p["in"]!.GetValue<string>() == "query");
        var upload = Operations.Single(o => o.Method == "POST" && o.Path == "/api/v1/disk_image_files/{id}").Operation;
        Assert.NotNull(upload["requestBody"]!["content"]!["multipart/form-data"]);

        // Every $ref names a schema of the document.
        var refs = System.Text.RegularExpressions.Regex.Matches(_document.ToJsonString(), "\"\\$ref\":\"#/components/schemas/([^\"]+)\"").Select(m => m.Groups[1].Value).Distinct();
        Assert.All(refs, r => Assert.NotNull(_document["components"]!["schemas"]![r]));
    }

    [Fact]
    public async Task TheReferencePage_IsServedFromTheServer()
    {
        using var redirect = await _server.Rest.Http.GetAsync("/api/docs");
        using var page = await _server.Rest.Http.GetAsync("/api/docs/index.html");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("swagger-ui-bundle.js", html);
        using var script = await _server.Rest.Http.GetAsync("/api/docs/swagger-ui-bundle.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        using var config = await _server.Rest.Http.GetAsync("/api/docs/index.js");
        Assert.Contains(OpenApiDocument.Route, await config.Content.ReadAsStringAsync());
    }
}
