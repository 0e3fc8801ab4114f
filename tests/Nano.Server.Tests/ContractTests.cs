using Google.Api;
using Google.Protobuf.Reflection;
using Nano.Server.Domain;

namespace Nano.Server.Tests;

/// <summary>What the .proto files declare: JSON names, the documented routes, access rules.</summary>
public sealed class ContractTests
{
    /// <summary>(method, template) of every google.api.http rule and additional binding.</summary>
    private static readonly (string Method, string Template, ApiMethod Rpc)[] Rules = ApiCatalog.Methods.Values
        .SelectMany(m => ApiCatalog.HttpRule(m.Descriptor) is { } rule
            ? new[] { rule }.Concat(rule.AdditionalBindings).Select(r => (ApiCatalog.Route(r).Method, ApiCatalog.Route(r).Template, m))
            : [])
        .ToArray();

    [Fact]
    public void EveryField_HasItsProtoNameAsJsonName()
    {
        var wrong = AllMessages(ApiCatalog.Files.SelectMany(f => f.MessageTypes))
            .SelectMany(m => m.Fields.InDeclarationOrder())
            .Where(f => f.JsonName != f.Name && !(f.Name == "is_global" && f.JsonName == "global")) // `global` is a Python keyword
            .Select(f => $"{f.ContainingType.FullName}.{f.Name} is written as {f.JsonName}")
            .ToList();
        Assert.Empty(wrong);
        Assert.True(AllMessages(ApiCatalog.Files.SelectMany(f => f.MessageTypes)).Count() > 250);
    }

    [Fact]
    public void EveryDocumentedRoute_IsDeclaredByAnHttpRule_OrIsAnImageTransfer()
    {
        var documented = File.ReadAllLines(System.IO.Path.Combine(AppContext.BaseDirectory, "documented-routes.txt"))
            .Where(l => !l.StartsWith('#') && l.Length > 0)
            .Select(l => l.Split(' '))
            .ToList();
        Assert.Equal(131, documented.Count);
        var missing = documented
            .Where(d => !Rules.Any(r => r.Method == d[1] && Shape("/api/v1" + d[2]) == Shape(r.Template)) &&
                        !Nano.Server.Images.ImageTransfers.Routes.Any(t => t.Method == d[1] && Shape("/api/v1" + d[2]) == Shape(t.Template)))
            .Select(d => string.Join(' ', d))
            .ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void TheImageTransfers_AreTheOnlyRoutesBesideTheRules_AndClaimNoRuleRoute()
    {
        Assert.Equal(8, Nano.Server.Images.ImageTransfers.Routes.Count);
        Assert.DoesNotContain(Nano.Server.Images.ImageTransfers.Routes, t => Rules.Any(r => r.Method == t.Method && Shape(r.Template) == Shape(t.Template)));
    }

    [Fact]
    public void NoTwoHttpRules_ClaimTheSameRoute()
    {
        var clashes = Rules.GroupBy(r => (r.Method, Shape(r.Template)))
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key.Method} {g.Key.Item2}: {string.Join(", ", g.Select(r => r.Rpc.Name))}")
            .ToList();
        Assert.Empty(clashes);
    }

    [Fact]
    public void EveryTemplate_IsUnderApiV1WithoutTrailingSlash()
    {
        Assert.All(Rules, r =>
        {
            Assert.StartsWith("/api/v1/", r.Template);
            Assert.False(r.Template.EndsWith('/'), r.Template);
        });
    }

    [Fact]
    public void EveryPublicMethod_HasAnAccessRule()
    {
        foreach (var method in ApiCatalog.Methods.Values)
            AccessRules.RequiredMenu(method); // throws for a method no rule covers
        Assert.Equal("user", AccessRules.RequiredMenu(ApiCatalog.Methods["/nano.v1.UserService/CreateUser"]));
        Assert.Null(AccessRules.RequiredMenu(ApiCatalog.Methods["/nano.v1.UserService/ListUsers"]));
        Assert.Null(AccessRules.RequiredMenu(ApiCatalog.Methods["/nano.v1.LogService/AddLog"]));
        Assert.Equal("log", AccessRules.RequiredMenu(ApiCatalog.Methods["/nano.v1.LogService/DeleteLogs"]));
    }

    [Fact]
    public void OnlyLoginAndFirstRun_AreAnonymous()
    {
        var anonymous = ApiCatalog.Methods.Values.Where(AccessRules.IsAnonymous).Select(m => m.Path).Order().ToArray();
        Assert.Equal(
            ["/nano.v1.SessionService/CreateSession", "/nano.v1.SystemService/GetSystemStatus", "/nano.v1.SystemService/InitializeSystem"],
            anonymous);
    }

    /// <summary>A route's shape: its literal segments, with every variable as {} and no trailing slash or query template.</summary>
    internal static string Shape(string path)
    {
        var query = path.IndexOf("{?", StringComparison.Ordinal);
        if (query >= 0)
            path = path[..query];
        return string.Join('/', path.TrimEnd('/').Split('/').Select(s => s.StartsWith('{') ? "{}" : s));
    }



    internal static (string Method, string Template, ApiMethod Rpc)[] AllRules => Rules;

    private static IEnumerable<MessageDescriptor> AllMessages(IEnumerable<MessageDescriptor> messages) =>
        messages.SelectMany(m => new[] { m }.Concat(AllMessages(m.NestedTypes)));
}
