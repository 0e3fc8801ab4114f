using System.Text.Json.Nodes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Nano.Contracts.V1;
using Nano.Server.Hosting;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// Security, abuse of the front door (issue 13, item 11): cross-site bodies, first run, login guessing, uploads.
/// (Forwarding headers: SessionTests; a changed password ends the other sessions: UserTests.)
/// </summary>
public sealed class FrontDoorSecurityTests(InitializedServer fixture) : ApiTest(fixture)
{
    /// <summary>
    /// A cross-site request: a web page in an operator's browser may send text/plain or a form (or a body without a type)
    /// without asking, and would create the first administrator or change anything the operator's session may.
    /// </summary>
    [Theory]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("text/plain")]
    [InlineData(null)]
    public async Task BodiesWithoutAJsonContentType_AreRefused_AndChangeNothing(string? type)
    {
        var role = $"typed{Math.Abs((type ?? "none").GetHashCode())}";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/roles/{role}")
        {
            Content = new ByteArrayContent("""{"menu":["log"]}"""u8.ToArray()),
        };
        if (type is not null)
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
        request.Headers.Add("Nano-Session", Admin);
        using var response = await Rest.Http.SendAsync(request);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(400, answer["error_code"]!.GetValue<int>());
        Assert.Contains("application/json", answer["message"]!.GetValue<string>());
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/roles/{role}", Admin));

        // The same body as JSON is taken, with a charset or without.
        using var json = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/roles/{role}")
        {
            Content = new StringContent("""{"menu":["log"]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        json.Headers.Add("Nano-Session", Admin);
        using var taken = await Rest.Http.SendAsync(json);
        Assert.Contains("\"error_code\":0", await taken.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AMultipartBody_OnATranscodedRoute_IsRefused()
    {
        using var form = new MultipartFormDataContent { { new StringContent("""{"menu":["log"]}"""), "menu" } };
        JsonAssert.Failure(400, await Rest.SendAsync(HttpMethod.Post, "/api/v1/roles/multiparted", form, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/roles/multiparted", Admin));
    }

    /// <summary>
    /// A new server reachable on the network is not its first visitor's: the first run comes from the server's own host,
    /// or with the one-time token the server printed at start. Seen here through a trusted proxy on loopback that forwards
    /// a remote client, the way an operator fronts the portal.
    /// </summary>
    [Fact]
    public async Task TheFirstRun_FromAnotherHost_NeedsTheTokenTheServerPrinted()
    {
        await using var server = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:TrustedProxies"] = "127.0.0.1" });
        var admin = new { user = "admin", password = "Adm1nPassword", menu = new[] { "user" } };
        Task<RestAnswer> FirstRunAsync(string? token) => server.Rest.SendAsync(HttpMethod.Post, "/api/v1/system/", admin, null, token is null
            ? new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.7" }
            : new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.7", ["Nano-Setup-Token"] = token });

        var refused = await FirstRunAsync(null);
        JsonAssert.Failure(403, refused);
        Assert.Contains("Nano-Setup-Token", refused.Message);
        JsonAssert.Failure(403, await FirstRunAsync("0123456789abcdef0123456789abcdef"));
        Assert.False((await server.Rest.GetAsync("/api/v1/system/")).Data!["ready"]!.GetValue<bool>());

        var gRpc = new SystemService.SystemServiceClient(server.Channel);
        var metadata = new Metadata { { "x-forwarded-for", "203.0.113.7" } };
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await gRpc.InitializeSystemAsync(
            new InitializeSystemRequest { User = "admin", Password = "Adm1nPassword", Menu = { "user" } }, metadata));
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        JsonAssert.Success("\"\"", await FirstRunAsync(server.Services.GetRequiredService<FirstRunToken>().Value));
        Assert.True((await server.Rest.GetAsync("/api/v1/system/")).Data!["ready"]!.GetValue<bool>());
    }

    private static Task<RestAnswer> LoginAsync(TestServer server, string from, string user, string password) =>
        server.Rest.SendAsync(HttpMethod.Post, "/api/v1/sessions/", new { user, password, nonce = "" }, null,
            new Dictionary<string, string> { ["X-Forwarded-For"] = from });

    /// <summary>A server behind a trusted proxy on loopback, so that each test client can come from its own address.</summary>
    private static async Task<TestServer> ServerWithUsersAsync(int lockSeconds = 60, int failuresPerUser = 10)
    {
        var server = await TestServer.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Nano:TrustedProxies"] = "127.0.0.1", ["Nano:LoginLockSeconds"] = lockSeconds.ToString(),
            ["Nano:LoginFailuresPerUser"] = failuresPerUser.ToString(),
        });
        var admin = await server.FirstRunAsync("user");
        foreach (var user in new[] { "victim", "bystander" })
        {
            Assert.Equal(0, (await server.Rest.PostAsync($"/api/v1/users/{user}", new { password = "Us3rPassword" }, admin)).ErrorCode);
            Assert.Equal(0, (await server.Rest.PostAsync($"/api/v1/user_groups/admin/members/{user}", null, admin)).ErrorCode);
        }
        return server;
    }

    [Fact]
    public async Task GuessingFromOneAddress_IsRefusedAfterFiveFailures_WithoutSlowingAnybodyElse()
    {
        await using var server = await ServerWithUsersAsync();
        for (var i = 0; i < 5; i++)
            JsonAssert.Failure(401, await LoginAsync(server, "198.51.100.1", "victim", $"Wrong{i}pass"));

        // The sixth try is refused before any password is checked, the right password included.
        var refused = await LoginAsync(server, "198.51.100.1", "victim", "Us3rPassword");
        JsonAssert.Failure(429, refused);
        Assert.Contains("198.51.100.1", refused.Message);
        var sessions = new SessionService.SessionServiceClient(server.Channel);
        var denied = await Assert.ThrowsAsync<RpcException>(async () => await sessions.CreateSessionAsync(
            new CreateSessionRequest { User = "bystander", Password = "Us3rPassword" }, new Metadata { { "x-forwarded-for", "198.51.100.1" } }));
        Assert.Equal(StatusCode.ResourceExhausted, denied.StatusCode);

        // Everybody else logs in as before, the guessed user included.
        Assert.Equal(0, (await LoginAsync(server, "198.51.100.2", "bystander", "Us3rPassword")).ErrorCode);
        Assert.Equal(0, (await LoginAsync(server, "198.51.100.3", "victim", "Us3rPassword")).ErrorCode);
    }

    [Fact]
    public async Task GuessingOneUserFromManyAddresses_LocksThatUserOnly()
    {
        await using var server = await ServerWithUsersAsync();
        for (var i = 0; i < 10; i++)
            JsonAssert.Failure(401, await LoginAsync(server, $"203.0.113.{i + 1}", "victim", "Wrong1pass"));
        var refused = await LoginAsync(server, "203.0.113.50", "victim", "Us3rPassword");
        JsonAssert.Failure(429, refused);
        Assert.Contains("'victim'", refused.Message);
        Assert.Equal(0, (await LoginAsync(server, "203.0.113.50", "bystander", "Us3rPassword")).ErrorCode);
    }

    /// <summary>
    /// Hostile user names on login (they reach the zone-wide failure count as keys): each is refused as a client error
    /// or counted as a failed login, never a 500; the counting goes on for them and everybody else logs in.
    /// </summary>
    [Theory]
    [InlineData("'; DELETE FROM login_failures; --", 401)]
    [InlineData("u:victim", 401)] // the shape of a user key, as a user name
    [InlineData("a\u0000b", 400)]
    [InlineData("\u001b[31mred", 400)]
    [InlineData("\ud800lone", 401)] // a lone surrogate: no fault, counted like any name
    public async Task HostileUserNames_AreRefusedOrCounted_NeverAFault(string user, int expected)
    {
        await using var server = await ServerWithUsersAsync(failuresPerUser: 2);
        var answers = new List<int>();
        for (var i = 0; i < 3; i++) // from three addresses: only the user's count can lock
            answers.Add((await LoginAsync(server, $"198.51.100.{20 + i}", user, "Wrong1pass")).ErrorCode);
        // Refused names stay refused; counted ones lock the name after its two failures.
        Assert.Equal(expected == 400 ? [400, 400, 400] : [401, 401, 429], answers);
        Assert.Equal(0, (await LoginAsync(server, "198.51.100.30", "victim", "Us3rPassword")).ErrorCode);
    }

    [Fact]
    public async Task ALock_EndsWithItsWindow()
    {
        await using var server = await ServerWithUsersAsync(lockSeconds: 5, failuresPerUser: 1);
        JsonAssert.Failure(401, await LoginAsync(server, "203.0.113.60", "victim", "Wrong1pass"));
        JsonAssert.Failure(429, await LoginAsync(server, "203.0.113.61", "victim", "Us3rPassword"));
        await Wait.ForAsync(async () => (await LoginAsync(server, "203.0.113.62", "victim", "Us3rPassword")).ErrorCode == 0, TimeSpan.FromSeconds(20));

        // Failures are counted in the database for the whole zone; the leader's sweep (every 10 s) deletes ended windows.
        await using var db = Npgsql.NpgsqlDataSource.Create(server.Database);
        await Wait.ForAsync(async () =>
        {
            await using var count = db.CreateCommand("SELECT count(*) FROM login_failures");
            return (long)(await count.ExecuteScalarAsync())! == 0;
        }, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AFailedLogin_WhenTheLogHasNoIdLeftForItsSecond_IsStillAnsweredAsAFailedLogin()
    {
        await using var server = await ServerWithUsersAsync();
        // Every id of this second and the next few is taken, as 999 failures in one second used to take them.
        await using (var c = await Npgsql.NpgsqlDataSource.Create(server.Database).OpenConnectionAsync())
        await using (var fill = new Npgsql.NpgsqlCommand("""
            INSERT INTO operation_logs (id, logged_at, content)
            SELECT to_char(s, 'YYYYMMDDHH24MISS') || lpad(n::text, 3, '0'), s, 'filler'
            FROM generate_series(date_trunc('second', localtimestamp), date_trunc('second', localtimestamp) + interval '5 seconds', interval '1 second') s,
                 generate_series(1, 999) n
            ON CONFLICT DO NOTHING
            """, c))
            await fill.ExecuteNonQueryAsync();
        JsonAssert.Failure(401, await LoginAsync(server, "198.51.100.9", "victim", "Wrong1pass"));
    }

    /// <summary>A fresh server with <paramref name="settings"/>, its administrator's session, and one media image without content.</summary>
    private static async Task<(TestServer Server, string Admin, string Image)> ServerWithAnImageAsync(Dictionary<string, string?> settings)
    {
        var server = await TestServer.StartAsync(settings: settings);
        var admin = await server.FirstRunAsync("user", "media");
        var image = (await server.Rest.PostAsync("/api/v1/media_images/", new { name = "disc" }, admin)).Data!["id"]!.GetValue<string>();
        return (server, admin, image);
    }

    private static string[] Incoming(TestServer server) =>
        Directory.GetFiles(Path.Combine(server.Services.GetRequiredService<Nano.Server.Images.ImageStore>().Root, ".incoming"));

    [Fact]
    public async Task AnUploadOverTheCap_IsRefused_AndLeavesNothingBehind()
    {
        var (server, admin, image) = await ServerWithAnImageAsync(new() { ["Nano:MaxUploadBytes"] = (1 << 20).ToString() });
        await using var _ = server;
        var refused = await server.Rest.UploadAsync($"/api/v1/media_images/{image}/file", new MemoryStream(new byte[2 << 20]), null, admin);
        JsonAssert.Failure(400, refused);
        Assert.Contains("Nano:MaxUploadBytes", refused.Message);

        var client = new ImageFileService.ImageFileServiceClient(server.Channel);
        using (var call = client.UploadImage(TestServer.Call(admin)))
        {
            await call.RequestStream.WriteAsync(new UploadImageRequest { Target = new ImageUploadTarget { Kind = ImageKind.Media, Id = image } });
            try
            {
                for (var i = 0; i < 8; i++)
                    await call.RequestStream.WriteAsync(new UploadImageRequest { Chunk = Google.Protobuf.ByteString.CopyFrom(new byte[256 << 10]) });
                await call.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
                // the server may end the call before the last chunk is written
            }
            Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync)).StatusCode);
        }
        Assert.Empty(Incoming(server));
        Assert.Equal(0, (await server.Rest.UploadAsync($"/api/v1/media_images/{image}/file", new MemoryStream(new byte[512 << 10]), null, admin)).ErrorCode);
    }

    [Fact]
    public async Task AnUploadThatWouldEatTheReserve_IsRefusedAsAFault_AndFreesTheImage()
    {
        var (server, admin, image) = await ServerWithAnImageAsync(new() { ["Nano:UploadReserveBytes"] = (1L << 50).ToString() });
        await using var _ = server;
        for (var i = 0; i < 2; i++)
        {
            // Twice the same answer: the first refusal did not leave the image locked ("being written").
            var refused = await server.Rest.UploadAsync($"/api/v1/media_images/{image}/file", new MemoryStream(new byte[4096]), null, admin);
            JsonAssert.Failure(503, refused);
            Assert.Contains("short of space", refused.Message);
        }
        Assert.Empty(Incoming(server));
    }

    [Fact]
    public async Task AStalledUpload_IsCutOff_AndFreesTheImage()
    {
        var (server, admin, image) = await ServerWithAnImageAsync(new() { ["Nano:UploadIdleSeconds"] = "2" });
        await using var _ = server;
        var client = new ImageFileService.ImageFileServiceClient(server.Channel);
        using (var call = client.UploadImage(TestServer.Call(admin)))
        {
            await call.RequestStream.WriteAsync(new UploadImageRequest { Target = new ImageUploadTarget { Kind = ImageKind.Media, Id = image } });
            await call.RequestStream.WriteAsync(new UploadImageRequest { Chunk = Google.Protobuf.ByteString.CopyFrom(new byte[1024]) });
            // ... and then nothing: the server ends the call by itself.
            var stalled = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(StatusCode.DeadlineExceeded, stalled.StatusCode);
        }
        Assert.Empty(Incoming(server));
        Assert.Equal(0, (await server.Rest.UploadAsync($"/api/v1/media_images/{image}/file", new MemoryStream(new byte[4096]), null, admin)).ErrorCode);
    }
}
