using System.Net;
using Grpc.Core;
using Nano.Server.Domain;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>The envelope on success and on every failure kind; bad input changes nothing.</summary>
public sealed class EnvelopeTests(InitializedServer fixture) : ApiTest(fixture)
{
    [Fact]
    public async Task Success_IsTheEnvelopeWithJsonContentType()
    {
        var answer = await Rest.Http.GetAsync("/api/v1/users/admin", CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("application/json", answer.Content.Headers.ContentType!.MediaType);
    }

    /// <summary>Every area is built: no unary RPC answers UNIMPLEMENTED (an empty request gets its real answer or error).</summary>
    [Fact]
    public async Task EveryUnaryRpc_IsImplemented()
    {
        var session = await Fixture.LoginAsync(InitializedServer.AdminName, InitializedServer.AdminPassword);
        var unimplemented = new List<string>();
        foreach (var method in ApiCatalog.Services.SelectMany(s => s.Methods).Where(m => !m.IsClientStreaming && !m.IsServerStreaming))
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                try
                {
                    await GrpcProbe.CallAsync(Fixture.Server.Channel, method, session);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated && attempt == 0)
                {
                    session = await Fixture.LoginAsync(InitializedServer.AdminName, InitializedServer.AdminPassword); // a call ended the session
                    continue;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
                {
                    unimplemented.Add($"{method.FullName}: {e.Status.Detail}");
                }
                catch (RpcException)
                {
                }
                break;
            }
        }
        Assert.Empty(unimplemented);
    }

    [Theory]
    [InlineData("GET", "/api/v1/no_such_area/")]
    [InlineData("GET", "/api/v1/users/a/b/c/d")]
    [InlineData("POST", "/api/v2/users/")]
    public async Task UnknownRoutes_AreNotFoundEnvelopes(string method, string path)
    {
        JsonAssert.Failure(404, await Rest.SendAsync(new HttpMethod(method), path, null, Admin));
    }

    [Theory]
    [InlineData("PATCH", "/api/v1/users/")]
    [InlineData("POST", "/api/v1/roles/")]
    [InlineData("DELETE", "/api/v1/system/")]
    public async Task WrongMethods_AreEnvelopes(string method, string path)
    {
        JsonAssert.Failure(405, await Rest.SendAsync(new HttpMethod(method), path, "{}", Admin));
    }

    [Theory]
    [InlineData("/api/v1/users/badjson", """{"password": "Passw0rdOk",""")]
    [InlineData("/api/v1/users/badjson", """{"password": 12345678}""")]
    [InlineData("/api/v1/users/badjson", """{"password": "Passw0rdOk", "nick": ["a"]}""")]
    [InlineData("/api/v1/users/badjson", """["password"]""")]
    [InlineData("/api/v1/users/badjson", "not json at all")]
    public async Task MalformedOrMistypedBodies_AreInvalid_AndChangeNothing(string path, string body)
    {
        JsonAssert.Failure(400, await Rest.PostAsync(path, body, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync(path, Admin));
    }

    [Fact]
    public async Task OversizedStrings_AreInvalid_AndChangeNothing()
    {
        var longName = new string('a', 65);
        JsonAssert.Failure(400, await Rest.PostAsync($"/api/v1/users/{longName}", new { password = "Passw0rdOk" }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/users/bignick", new { password = "Passw0rdOk", nick = new string('n', 257) }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/users/bigpass", new { password = "Passw0rdOk" + new string('p', 200) }, Admin));
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/logs/", new { content = new string('c', 5000) }, Admin));
        var users = (await Rest.GetAsync("/api/v1/users/", Admin)).Data!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.DoesNotContain("bignick", users);
        Assert.DoesNotContain("bigpass", users);
        Assert.DoesNotContain(longName, users);
    }

    [Fact]
    public async Task EmptyBodies_ReadAsEmptyObjects()
    {
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/roles/emptybody", new { menu = new[] { "log" } }, Admin)).ErrorCode);
        JsonAssert.Success("\"\"", await Rest.SendAsync(HttpMethod.Put, "/api/v1/roles/emptybody", null, Admin));
        JsonAssert.Success("""{"menu":[]}""", await Rest.GetAsync("/api/v1/roles/emptybody", Admin));
    }

    [Fact]
    public async Task BothSlashForms_AreServedWithoutRedirect()
    {
        var with = await Rest.Http.GetAsync("/api/v1/system/");
        var without = await Rest.Http.GetAsync("/api/v1/system");
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
        Assert.Equal(HttpStatusCode.OK, without.StatusCode);
        Assert.Equal(await with.Content.ReadAsStringAsync(), await without.Content.ReadAsStringAsync());
    }
}
