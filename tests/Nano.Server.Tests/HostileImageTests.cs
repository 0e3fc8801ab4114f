using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Nano.Contracts.V1;
using Nano.Server.Images;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>
/// Security, hostile input that reaches the hosts (issue 13, item 1): a disk image whose qcow2 header names another file
/// (a backing file, an external data file) would make every guest cloned from it, and every disk image cloned from such a
/// guest, read that host file. The server refuses such images however they arrive: uploaded over REST or gRPC, or
/// dropped into the import folder and synchronised.
/// </summary>
public sealed class HostileImageTests(InitializedServer fixture) : ApiTest(fixture)
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];

    private ImageStore Store => Fixture.Server.Services.GetRequiredService<ImageStore>();

    public static TheoryData<string> Hostile => ["backing file", "external data flag", "external data file extension", "version 9"];

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task AnUploadedDiskImageThatNamesAnotherFile_IsRefused_OverRest_AndChangesNothing(string attack)
    {
        var id = await CreateDiskImageAsync($"rest-{_suffix}");
        var refused = await Rest.UploadAsync($"/api/v1/disk_images/{id}/file/", new MemoryStream(HostileQcow2(attack)), null, Admin);

        JsonAssert.Failure(400, refused);
        Assert.Contains("standalone qcow2", refused.Message);
        var image = (await Rest.GetAsync($"/api/v1/disk_images/{id}", Admin)).Data!;
        Assert.Equal("false|0", $"{image["created"]!.ToJsonString()}|{image["size"]}");
        Assert.False(File.Exists(Store.PathOf(ImageKinds.Disk, Guid.Parse(id))));
        // Not locked either: a standalone image is taken afterwards.
        Assert.Equal(0, (await Rest.UploadAsync($"/api/v1/disk_images/{id}/file/", new MemoryStream(ImageTests.Qcow2(4096)), null, Admin)).ErrorCode);
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task AnUploadedDiskImageThatNamesAnotherFile_IsRefused_OverGrpc(string attack)
    {
        var id = await CreateDiskImageAsync($"grpc-{_suffix}");
        var client = new ImageFileService.ImageFileServiceClient(Fixture.Server.Channel);
        using var upload = client.UploadImage(TestServer.Call(Admin));
        await upload.RequestStream.WriteAsync(new UploadImageRequest { Target = new ImageUploadTarget { Kind = ImageKind.Disk, Id = id } });
        await upload.RequestStream.WriteAsync(new UploadImageRequest { Chunk = ByteString.CopyFrom(HostileQcow2(attack)) });
        await upload.RequestStream.CompleteAsync();

        var refused = await Assert.ThrowsAsync<RpcException>(() => upload.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.False((await Rest.GetAsync($"/api/v1/disk_images/{id}", Admin)).Data!["created"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ASynchronisationWithADroppedImageThatNamesAHostFile_IsRefused_AndTakesNoFile()
    {
        var good = Path.Combine(Store.ImportFolder, $"good-{_suffix}.qcow2");
        var bad = Path.Combine(Store.ImportFolder, $"shadow-{_suffix}.qcow2");
        await File.WriteAllBytesAsync(good, ImageTests.Qcow2(4096));
        await File.WriteAllBytesAsync(bad, HostileQcow2("backing file"));
        try
        {
            var refused = await Rest.SendAsync(HttpMethod.Patch, "/api/v1/disk_images/", new { }, Admin);

            JsonAssert.Failure(400, refused);
            Assert.Contains($"shadow-{_suffix}.qcow2", refused.Message);
            Assert.True(File.Exists(good) && File.Exists(bad));
            Assert.DoesNotContain(_suffix, (await Rest.GetAsync("/api/v1/disk_image_search/", Admin)).Text);
        }
        finally
        {
            File.Delete(good);
            File.Delete(bad);
        }
    }

    /// <summary>A qcow2 version 3 header that makes QEMU read <c>/etc/shadow</c> (or is one this server cannot vouch for).</summary>
    internal static byte[] HostileQcow2(string attack)
    {
        var bytes = ImageTests.Qcow2(64 << 10);
        var target = Encoding.UTF8.GetBytes("/etc/shadow");
        switch (attack)
        {
            case "backing file":
                BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), 1024);
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(16), (uint)target.Length);
                target.CopyTo(bytes, 1024);
                break;
            case "external data flag":
                bytes[79] = 1 << 2; // incompatible feature bit 2: the data lives in an external file
                break;
            case "external data file extension":
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(104), 0x44415441);
                BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(108), (uint)target.Length);
                target.CopyTo(bytes, 112);
                break;
            case "version 9":
                bytes[7] = 9;
                break;
        }
        return bytes;
    }

    private async Task<string> CreateDiskImageAsync(string name)
    {
        var created = await Rest.PostAsync("/api/v1/disk_images/", new { name }, Admin);
        Assert.Equal(0, created.ErrorCode);
        return created.Data!["id"]!.GetValue<string>();
    }
}
