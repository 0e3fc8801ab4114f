using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Images;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Nano.Server.Tests;

/// <summary>Media and disk images #68-#81, B6, B7, B11: records, visibility, and their content over REST and gRPC.</summary>
public sealed class ImageTests(InitializedServer fixture) : ApiTest(fixture)
{
    private const int MiB = 1 << 20;
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];

    private ImageStore Store => Fixture.Server.Services.GetRequiredService<ImageStore>();

    [Fact]
    public async Task MediaImage_UploadedAsMultipart_DownloadsTheSameBytes_WithRanges()
    {
        var id = await CreateAsync("media_images", $"debian-{_suffix}.iso");
        var content = RandomBytes(5 * MiB + 123);
        var detail = await Rest.GetAsync($"/api/v1/media_images/{id}", Admin);
        Assert.Equal("false|0", $"{detail.Data!["created"]!.ToJsonString()}|{detail.Data!["size"]}");
        JsonAssert.Failure(412, await Rest.GetAsync($"/api/v1/media_image_files/{id}", Admin)); // no content yet

        var upload = await UploadAsync($"/api/v1/media_image_files/{id}", content, Sha1(content));
        JsonAssert.Success("\"\"", upload);

        detail = await Rest.GetAsync($"/api/v1/media_images/{id}", Admin);
        Assert.Equal($"true|{content.Length}|admin|admin", $"{detail.Data!["created"]!.ToJsonString()}|{detail.Data!["size"]}|{detail.Data!["owner"]}|{detail.Data!["group"]}");
        foreach (var path in new[] { $"/api/v1/media_image_files/{id}", $"/api/v1/media_images/{id}/file/" })
        {
            using var download = await GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, download.StatusCode);
            Assert.Equal("application/octet-stream", download.Content.Headers.ContentType!.MediaType);
            Assert.Equal(content.Length, download.Content.Headers.ContentLength);
            Assert.Equal(Sha1(content), download.Headers.GetValues("Signature").Single());
            Assert.Equal(content, await download.Content.ReadAsByteArrayAsync());
        }
        using var range = await GetAsync($"/api/v1/media_image_files/{id}", new RangeHeaderValue(1_000_000, 1_000_099));
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal(content.AsSpan(1_000_000, 100).ToArray(), await range.Content.ReadAsByteArrayAsync());
        Assert.Equal($"bytes 1000000-1000099/{content.Length}", range.Content.Headers.ContentRange!.ToString());
    }

    [Fact]
    public async Task DiskImage_UploadAtTheUpstreamPath_ChecksTheChecksumAndTheFormat()
    {
        var id = await CreateAsync("disk_images", $"base-{_suffix}");
        Assert.Equal(HttpStatusCode.Accepted, (await Rest.GetAsync($"/api/v1/disk_images/{id}", Admin)).Status); // A10: 202 until it has content
        var content = Qcow2(3 * MiB);

        var wrong = await UploadAsync($"/api/v1/disk_images/{id}/file/", content, new string('0', 40));
        JsonAssert.Failure(400, wrong);
        Assert.Contains("checksum mismatch", wrong.Message);
        JsonAssert.Failure(400, await UploadAsync($"/api/v1/disk_images/{id}/file/", RandomBytes(MiB), null));
        Assert.False((await Rest.GetAsync($"/api/v1/disk_images/{id}", Admin)).Data!["created"]!.GetValue<bool>());

        JsonAssert.Success("\"\"", await UploadAsync($"/api/v1/disk_images/{id}/file/", content, Sha1(content)));
        var detail = await Rest.GetAsync($"/api/v1/disk_images/{id}", Admin);
        Assert.Equal(HttpStatusCode.OK, detail.Status);
        Assert.Equal($"true|{content.Length}|0", $"{detail.Data!["created"]!.ToJsonString()}|{detail.Data!["size"]}|{detail.Data!["progress"]}");
        using var download = await GetAsync($"/api/v1/disk_image_files/{id}");
        Assert.Equal(content, await download.Content.ReadAsByteArrayAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(Store.Root, ".incoming")));
    }

    [Fact]
    public async Task AnAbortedUpload_LeavesTheImageAsItWas_AndNoFileBehind()
    {
        var id = await CreateAsync("media_images", $"abort-{_suffix}.iso");
        var first = RandomBytes(2 * MiB);
        JsonAssert.Success("\"\"", await UploadAsync($"/api/v1/media_image_files/{id}", first, null));

        // A raw HTTP request that announces 8 MiB, sends 3 MiB, then drops the connection.
        using (var socket = new TcpClient())
        {
            await socket.ConnectAsync(IPAddress.Loopback, Fixture.Server.RestPort);
            var stream = socket.GetStream();
            var head = $"POST /api/v1/media_images/{id}/file HTTP/1.1\r\nHost: 127.0.0.1\r\nNano-Session: {Admin}\r\n" +
                       $"Content-Type: application/octet-stream\r\nContent-Length: {8 * MiB}\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(RandomBytes(3 * MiB));
            await stream.FlushAsync();
            await Task.Delay(300);
        }

        await Wait.ForAsync(async () => (await Rest.PutAsync($"/api/v1/media_images/{id}", new { description = "after" }, Admin)).ErrorCode == 0);
        var detail = await Rest.GetAsync($"/api/v1/media_images/{id}", Admin);
        Assert.Equal($"{first.Length}|after", $"{detail.Data!["size"]}|{detail.Data!["description"]}");
        using var download = await GetAsync($"/api/v1/media_image_files/{id}");
        Assert.Equal(first, await download.Content.ReadAsByteArrayAsync());
        Assert.Empty(Directory.GetFiles(Path.Combine(Store.Root, ".incoming")));
    }

    [Fact]
    public async Task Grpc_UploadImage_And_DownloadImage_RoundTrip_WithResume()
    {
        var id = await CreateAsync("disk_images", $"grpc-{_suffix}");
        var content = Qcow2(6 * MiB + 77);
        var client = new ImageFileService.ImageFileServiceClient(Fixture.Server.Channel);

        using (var call = client.UploadImage(TestServer.Call(Admin)))
        {
            await call.RequestStream.WriteAsync(new UploadImageRequest { Target = new ImageUploadTarget { Kind = ImageKind.Disk, Id = id, Checksum = Sha1(content) } });
            for (var at = 0; at < content.Length; at += 1 << 19)
                await call.RequestStream.WriteAsync(new UploadImageRequest { Chunk = ByteString.CopyFrom(content, at, Math.Min(1 << 19, content.Length - at)) });
            await call.RequestStream.CompleteAsync();
            var stored = (await call).Data;
            Assert.Equal($"{content.Length}|{Sha1(content)}|{Convert.ToHexStringLower(SHA256.HashData(content))}", $"{stored.Size}|{stored.Sha1}|{stored.Sha256}");
        }

        var received = new MemoryStream();
        ImageContent? described = null;
        using (var call = client.DownloadImage(new DownloadImageRequest { Kind = ImageKind.Disk, Id = id }, TestServer.Call(Admin)))
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync())
            {
                described ??= chunk.Content;
                Assert.Equal(received.Length, chunk.Offset);
                chunk.Chunk.WriteTo(received);
            }
        }
        Assert.Equal(content, received.ToArray());
        Assert.Equal(content.Length, described!.Size);

        using var resumed = client.DownloadImage(new DownloadImageRequest { Kind = ImageKind.Disk, Id = id, Offset = 5 * MiB }, TestServer.Call(Admin));
        var tail = new MemoryStream();
        await foreach (var chunk in resumed.ResponseStream.ReadAllAsync())
            chunk.Chunk.WriteTo(tail);
        Assert.Equal(content.AsSpan(5 * MiB).ToArray(), tail.ToArray());

        // The wrong kind does not find it; a broken stream (bad checksum) changes nothing.
        var wrongKind = Assert.Throws<RpcException>(() => client.DownloadImage(new DownloadImageRequest { Kind = ImageKind.Media, Id = id }, TestServer.Call(Admin))
            .ResponseStream.MoveNext().GetAwaiter().GetResult());
        Assert.Equal(StatusCode.NotFound, wrongKind.StatusCode);
        using var bad = client.UploadImage(TestServer.Call(Admin));
        await bad.RequestStream.WriteAsync(new UploadImageRequest { Target = new ImageUploadTarget { Kind = ImageKind.Disk, Id = id, Checksum = Sha1(content) } });
        await bad.RequestStream.WriteAsync(new UploadImageRequest { Chunk = ByteString.CopyFrom(Qcow2(MiB)) });
        await bad.RequestStream.CompleteAsync();
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(() => bad.ResponseAsync)).StatusCode);
        Assert.Equal(content.Length, (await Rest.GetAsync($"/api/v1/disk_images/{id}", Admin)).Data!["size"]!.GetValue<long>());
    }

    [Fact]
    public async Task Uploads_NeedASessionAndTheKindsMenu()
    {
        var id = await CreateAsync("disk_images", $"menu-{_suffix}");
        JsonAssert.Failure(401, await UploadAsync($"/api/v1/disk_image_files/{id}", Qcow2(1024), null, session: null));
        JsonAssert.Failure(401, await Rest.SendAsync(HttpMethod.Get, $"/api/v1/disk_images/{id}/file", null, null));
        var mediaOnly = await Fixture.UserWithMenusAsync($"mo_{_suffix}", "media");
        JsonAssert.Failure(403, await UploadAsync($"/api/v1/disk_image_files/{id}", Qcow2(1024), null, mediaOnly)); // its roles lack the image menu
        var own = (await Rest.PostAsync("/api/v1/media_images/", new { name = $"own-{_suffix}.iso" }, mediaOnly)).Data!["id"]!.GetValue<string>();
        JsonAssert.Success("\"\"", await UploadAsync($"/api/v1/media_image_files/{own}", RandomBytes(1000), null, mediaOnly));
        var client = new ImageFileService.ImageFileServiceClient(Fixture.Server.Channel);
        using var call = client.UploadImage(TestServer.Call(mediaOnly));
        await call.RequestStream.WriteAsync(new UploadImageRequest { Target = new ImageUploadTarget { Kind = ImageKind.Disk, Id = own } });
        await call.RequestStream.CompleteAsync();
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync)).StatusCode);
    }

    [Fact]
    public async Task Lists_FollowOwnerAndGroupVisibility_SortedByGroupThenName_WithTagFilters()
    {
        var alice = await Fixture.UserWithMenusAsync($"va_{_suffix}", "media", "image");
        var group = $"va_{_suffix}_group";
        var bob = await Fixture.LoginAsync(await AddMemberAsync(group, $"vb_{_suffix}"), "Us3rPassword");
        var zeta = (await Rest.PostAsync("/api/v1/disk_images/", new { name = "zeta", tags = new[] { "linux" } }, alice)).Data!["id"]!.GetValue<string>();
        var alpha = (await Rest.PostAsync("/api/v1/disk_images/", new { name = "alpha", tags = new[] { "windows" } }, alice)).Data!["id"]!.GetValue<string>();

        Assert.Equal("alpha,zeta", Names(await Rest.GetAsync("/api/v1/disk_image_search/", alice)));
        Assert.Equal("zeta", Names(await Rest.GetAsync("/api/v1/disk_image_search/?tags=linux", alice)));
        Assert.Equal("alpha,zeta", Names(await Rest.GetAsync("/api/v1/disk_images/?tags=linux&tags=windows", alice)));
        Assert.Equal("", Names(await Rest.GetAsync("/api/v1/disk_image_search/", bob)));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/disk_images/{zeta}", bob));

        await SetVisibilityAsync(group, disk: true);
        Assert.Equal("alpha,zeta", Names(await Rest.GetAsync("/api/v1/disk_image_search/", bob)));
        Assert.Equal(0, (await Rest.GetAsync($"/api/v1/disk_images/{alpha}", bob)).ErrorCode);
        Assert.Equal("", Names(await Rest.GetAsync("/api/v1/media_image_search/", bob))); // the media flag stays off

        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/disk_images/", new { name = "zeta" }, bob)); // names are unique per group
        Assert.Equal(0, (await Rest.PostAsync("/api/v1/media_images/", new { name = "zeta" }, bob)).ErrorCode); // per kind too
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/disk_images/", new { name = "../etc" }, alice));
        JsonAssert.Failure(409, await Rest.PutAsync($"/api/v1/disk_images/{alpha}", new { name = "zeta" }, alice));
        Assert.Equal(0, (await Rest.PutAsync($"/api/v1/disk_images/{alpha}", new { description = "d", tags = Array.Empty<string>() }, alice)).ErrorCode);
        var kept = await Rest.GetAsync($"/api/v1/disk_images/{alpha}", alice);
        Assert.Equal("alpha|d|[\"windows\"]", $"{kept.Data!["name"]}|{kept.Data!["description"]}|{kept.Data!["tags"]!.ToJsonString()}");
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/disk_images/{alpha}", null, alice)).ErrorCode);
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/disk_images/{alpha}", alice));
    }

    [Fact]
    public async Task Sync_RegistersDroppedFiles_AndForgetsVanishedOnes()
    {
        var iso = RandomBytes(4096);
        await File.WriteAllBytesAsync(Path.Combine(Store.ImportFolder, $"drop {_suffix}.iso"), iso);
        JsonAssert.Success("\"\"", await Rest.SendAsync(HttpMethod.Patch, "/api/v1/media_images/", new { }, Admin));
        var found = (await Rest.GetAsync("/api/v1/media_image_search/", Admin)).Data!.AsArray()
            .Single(i => i!["name"]!.GetValue<string>().StartsWith($"drop_{_suffix}_", StringComparison.Ordinal))!;
        Assert.Equal($"{iso.Length}|true", $"{found["size"]}|{found["created"]!.ToJsonString()}");
        Assert.Contains("synchronisation", found["description"]!.GetValue<string>());
        var id = found["id"]!.GetValue<string>();
        Assert.Empty(Directory.GetFiles(Store.ImportFolder, $"*{_suffix}*"));

        File.Delete(Store.PathOf(ImageKinds.Media, Guid.Parse(id)));
        JsonAssert.Success("\"\"", await Rest.SendAsync(HttpMethod.Patch, "/api/v1/media_images", new { }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/media_images/{id}", Admin));
    }

    [Fact]
    public async Task Sync_WhileTheStoreFolderIsMissing_Answers503_AndForgetsNothing()
    {
        // A server of its own: its store folder goes away, as an unmounted share does.
        await using var server = await TestServer.StartAsync();
        var admin = await server.FirstRunAsync("media");
        var store = server.Services.GetRequiredService<ImageStore>();
        var ids = new List<string>();
        foreach (var name in new[] { "one.iso", "two.iso" })
        {
            var id = (await server.Rest.PostAsync("/api/v1/media_images/", new { name }, admin)).Data!["id"]!.GetValue<string>();
            Assert.Equal(0, (await server.Rest.UploadAsync($"/api/v1/media_image_files/{id}", new MemoryStream(RandomBytes(4096)), null, admin)).ErrorCode);
            ids.Add(id);
        }
        var away = store.Root + ".away";
        Directory.Move(store.Root, away);
        var refused = await server.Rest.SendAsync(HttpMethod.Patch, "/api/v1/media_images/", new { }, admin);
        Assert.Equal(503, refused.ErrorCode);
        Directory.CreateDirectory(store.ImportFolder); // an empty folder in its place, as the mount point left behind
        Assert.Equal(503, (await server.Rest.SendAsync(HttpMethod.Patch, "/api/v1/media_images/", new { }, admin)).ErrorCode);
        foreach (var id in ids)
            Assert.Equal(0, (await server.Rest.GetAsync($"/api/v1/media_images/{id}", admin)).ErrorCode);

        Directory.Delete(store.Root, recursive: true);
        Directory.Move(away, store.Root);
        Assert.Equal(0, (await server.Rest.SendAsync(HttpMethod.Patch, "/api/v1/media_images/", new { }, admin)).ErrorCode);
        foreach (var id in ids)
            Assert.Equal(0, (await server.Rest.GetAsync($"/api/v1/media_images/{id}", admin)).ErrorCode);
    }

    internal async Task<string> CreateAsync(string area, string name)
    {
        var created = await Rest.PostAsync($"/api/v1/{area}/", new { name, owner = "admin", group = "admin", description = "test", tags = new[] { "t" } }, Admin);
        Assert.Equal(0, created.ErrorCode);
        return created.Data!["id"]!.GetValue<string>();
    }

    private Task<RestAnswer> UploadAsync(string path, byte[] content, string? checksum) => UploadAsync(path, content, checksum, Admin);

    private Task<RestAnswer> UploadAsync(string path, byte[] content, string? checksum, string? session) =>
        Rest.UploadAsync(path, new MemoryStream(content), checksum, session);

    private async Task<HttpResponseMessage> GetAsync(string path, RangeHeaderValue? range = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Nano-Session", Admin);
        request.Headers.Range = range;
        return await Rest.Http.SendAsync(request);
    }

    private async Task<string> AddMemberAsync(string group, string user)
    {
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/users/{user}", new { password = "Us3rPassword" }, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/user_groups/{group}/members/{user}", null, Admin)).ErrorCode);
        return user;
    }

    private async Task SetVisibilityAsync(string group, bool disk)
    {
        await using var c = await Npgsql.NpgsqlDataSource.Create(Fixture.Server.Database).OpenConnectionAsync();
        await using var command = new Npgsql.NpgsqlCommand("UPDATE user_groups SET disk_image_visible = @disk WHERE name = @group", c);
        command.Parameters.AddWithValue("disk", disk);
        command.Parameters.AddWithValue("group", group);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private static string Names(RestAnswer answer) =>
        string.Join(',', answer.Data!.AsArray().Select(i => i!["name"]!.GetValue<string>()));

    internal static byte[] RandomBytes(int size) => RandomNumberGenerator.GetBytes(size);

    /// <summary>
    /// A standalone qcow2 version 3 header (no backing or external data file, no extensions) followed by random bytes:
    /// the server reads the header, never the data.
    /// </summary>
    internal static byte[] Qcow2(int size)
    {
        var bytes = RandomBytes(size);
        Array.Clear(bytes, 0, Math.Min(size, 512));
        byte[] magic = [(byte)'Q', (byte)'F', (byte)'I', 0xfb];
        magic.CopyTo(bytes, 0);
        bytes[7] = 3; // version
        bytes[23] = 16; // cluster bits
        bytes[103] = 104; // header length; its extension list ends at once (zeros)
        return bytes;
    }

    internal static string Sha1(byte[] content) => Convert.ToHexStringLower(SHA1.HashData(content));
}
