using System.Diagnostics;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// What clients other than the portal run into (issue 15, "Errors and contract"): malformed requests name the field,
/// an expired session says so, a server stream ends with its session, role menus are the known tags, no proto field is
/// a Python keyword, and the system status names the server's version and the cell protocols.
/// </summary>
public sealed class ClientContractTests
{
    [Theory]
    [InlineData("/api/v1/users/badjson", """{"password": 12345678}""", "field 'password': expected a string, got 12345678")]
    [InlineData("/api/v1/users/badjson", """{"password": "Passw0rdOk", "nick": ["a"]}""", "field 'nick': expected a string, got [\"a\"]")]
    [InlineData("/api/v1/users/badjson", """{"password": "Passw0rdOk",""", "the request body is not JSON: ")]
    [InlineData("/api/v1/users/badjson", """["password"]""", "the request body must be an object, not [\"password\"]")]
    [InlineData("/api/v1/guests/", """{"name": "badjson", "disks": [1, "a"]}""", "field 'disks[1]': expected an integer, got \"a\"")]
    [InlineData("/api/v1/guests/", """{"name": "badjson", "cores": 1.5}""", "field 'cores': expected a 32-bit integer, got 1.5")]
    [InlineData("/api/v1/guests/", """{"name": "badjson", "qos": {"cpu_priority": {}}}""", "field 'qos.cpu_priority': expected a string, got {}")]
    public async Task AMalformedRestBody_IsRefusedNamingTheField_AndChangesNothing(string path, string body, string problem)
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.FirstRunAsync("user", "instance");
        var answer = await server.Rest.PostAsync(path, body, admin);
        Assert.Equal(400, answer.ErrorCode);
        Assert.StartsWith(problem, answer.Message);
        JsonAssert.Failure(404, await server.Rest.GetAsync("/api/v1/users/badjson", admin));
    }

    [Fact]
    public async Task AMalformedQueryParameter_IsRefusedNamingIt()
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.FirstRunAsync("log");
        var answer = await server.Rest.GetAsync("/api/v1/logs/?limit=abc", admin);
        Assert.Equal((400, "query parameter 'limit': expected a 32-bit integer, got \"abc\""), (answer.ErrorCode, answer.Message));
    }

    /// <summary>A gRPC message whose field is cut short names that field, nested ones by their path.</summary>
    [Theory]
    [InlineData("/nano.v1.RoleService/CreateRole", new byte[] { 0x0a, 0x0a, (byte)'a', (byte)'b' }, "not a CreateRoleRequest: field 'role_name': ")]
    [InlineData("/nano.v1.GuestService/CreateGuest", new byte[] { 0x0a, 0x01, (byte)'g', 0x6a, 0x03, 0x10, 0x80, 0x80 }, "not a CreateGuestRequest: field 'qos.write_speed': ")]
    public async Task AMalformedGrpcMessage_IsRefusedNamingTheField(string method, byte[] message, string problem)
    {
        await using var server = await TestServer.StartAsync();
        var admin = await server.FirstRunAsync("user", "instance");
        var frame = new byte[5 + message.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        var (status, text) = await GrpcProbe.SendFrameAsync(server, method, frame, admin);
        Assert.Equal("3", status);
        Assert.StartsWith(problem, text);
    }

    [Fact]
    public async Task AnExpiredSession_SaysItExpired_AMistypedOneThatItDoesNotExist()
    {
        await using var server = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:SessionTimeoutSeconds"] = "1" });
        var admin = await server.FirstRunAsync("user");
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var expired = await server.Rest.GetAsync("/api/v1/users/", admin);
        Assert.Equal(401, expired.ErrorCode);
        Assert.Matches($"^session '{admin}' expired at \\d{{4}}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\(1 s after its last use\\): log in again$", expired.Message);
        var grpc = await Assert.ThrowsAsync<RpcException>(() =>
            new UserService.UserServiceClient(server.Channel).ListUsersAsync(new ListUsersRequest(), TestServer.Call(admin)).ResponseAsync);
        Assert.Equal((StatusCode.Unauthenticated, expired.Message), (grpc.StatusCode, grpc.Status.Detail));

        var mistyped = await server.Rest.GetAsync("/api/v1/users/", admin[..^1] + (admin[^1] == 'a' ? 'b' : 'a'));
        Assert.Equal(401, mistyped.ErrorCode);
        Assert.Contains("no such session", mistyped.Message);
    }

    /// <summary>A watch stream ends UNAUTHENTICATED once its session is logged out, and once it expires.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AServerStream_EndsUnauthenticated_WhenItsSessionEnds(bool logOut)
    {
        await using var server = await TestServer.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Nano:SessionTimeoutSeconds"] = logOut ? "180" : "3",
            ["Nano:StreamSessionCheckSeconds"] = "1",
        });
        var admin = await server.FirstRunAsync("dashboard");
        using var watch = new ZoneService.ZoneServiceClient(server.Channel).WatchZoneStatus(
            new WatchZoneStatusRequest { IntervalMs = 200 }, new CallOptions(new Metadata { { "nano-session", admin } }, DateTime.UtcNow.AddSeconds(60)));
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        var clock = Stopwatch.StartNew();
        if (logOut)
            Assert.Equal(0, (await server.Rest.SendAsync(HttpMethod.Delete, $"/api/v1/sessions/{admin}", null, admin)).ErrorCode);
        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await watch.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });
        Assert.Equal(StatusCode.Unauthenticated, ended.StatusCode);
        Assert.Contains(logOut ? "no such session" : "expired at", ended.Status.Detail);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(logOut ? 5 : 8), $"the stream ended {clock.Elapsed} after its session");
    }

    [Fact]
    public async Task RoleMenus_AreTheKnownTags_AndARefusedOneChangesNothing()
    {
        await using var server = await TestServer.StartAsync();
        var init = await server.Rest.PostAsync("/api/v1/system/", new { user = "admin", password = "Adm1nPassword", menu = new[] { "user", "nonsense" } });
        Assert.Equal((400, "unknown menu 'nonsense': a menu is one of " + string.Join(", ", AccessRules.MenuTags)), (init.ErrorCode, init.Message));
        var admin = await server.FirstRunAsync("user");

        Assert.Equal(400, (await server.Rest.PostAsync("/api/v1/roles/odd", new { menu = new[] { "nonsense" } }, admin)).ErrorCode);
        JsonAssert.Failure(404, await server.Rest.GetAsync("/api/v1/roles/odd", admin));
        Assert.Equal(0, (await server.Rest.PostAsync("/api/v1/roles/odd", new { menu = new[] { "log", "instance" } }, admin)).ErrorCode);
        Assert.Equal(400, (await server.Rest.PutAsync("/api/v1/roles/odd", new { menu = new[] { "log", "Instance" } }, admin)).ErrorCode);
        JsonAssert.Success("""{"menu":["log","instance"]}""", await server.Rest.GetAsync("/api/v1/roles/odd", admin));

        var needed = AccessRules.ChangeMenus.Values.OfType<string>().Distinct().ToList();
        Assert.All(needed, m => Assert.Contains(m, AccessRules.MenuTags));
    }

    /// <summary>
    /// Python's generated messages keep each field's proto name as an attribute: a keyword there (`global`) can only be
    /// reached through getattr. (JavaScript allows keywords as property names; C# properties are PascalCase.)
    /// </summary>
    [Fact]
    public void NoProtoFieldIsAPythonKeyword_AndGlobalKeepsItsJsonName()
    {
        string[] keywords =
        [
            "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
            "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
            "while", "with", "yield",
        ];
        var clashes = ApiCatalog.Files.SelectMany(f => f.MessageTypes).SelectMany(Nested).SelectMany(m => m.Fields.InDeclarationOrder())
            .Where(f => keywords.Contains(f.Name)).Select(f => f.FullName).ToList();
        Assert.Empty(clashes);
        var global = SecurityPolicyGroup.Descriptor.FindFieldByName("is_global");
        Assert.Equal("global", global.JsonName);
        Assert.Equal(7, global.FieldNumber);
    }

    [Fact]
    public async Task TheSystemStatus_NamesTheServersVersion_AndTheCellProtocolsItAccepts()
    {
        await using var server = await TestServer.StartAsync();
        var status = await server.Rest.GetAsync("/api/v1/system/");
        Assert.Matches(@"^\d+\.\d+\.\d+", status.Data!["version"]!.GetValue<string>());
        Assert.Equal("[1]", status.Data!["cell_protocols"]!.ToJsonString());
        Assert.Equal(["ready", "max_cores", "max_memory", "max_disk", "version", "cell_protocols", "rest_port"], status.Data!.AsObject().Select(p => p.Key));
        Assert.Equal(server.RestPort, status.Data!["rest_port"]!.GetValue<int>());
    }

    private static IEnumerable<MessageDescriptor> Nested(MessageDescriptor message) => message.NestedTypes.SelectMany(Nested).Prepend(message);
}
