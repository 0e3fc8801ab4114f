using Nano.Contracts.Cell.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Guests from disk images, and media booted, inserted and ejected.</summary>
public sealed class GuestMediaTests(ZoneServer fixture) : GuestTestBase(fixture)
{
    [Fact]
    public async Task FromImage_TheCellGetsTheImageVersion_AndTheImageCannotBeDeletedWhileAGuestUsesIt()
    {
        var image = await ImageWithContentAsync("disk_images", $"sys-{Suffix}", ImageTests.Qcow2(1 << 20));
        var detail = (await Rest.GetAsync($"/api/v1/disk_images/{image}", Admin)).Data!;
        var body = new { name = "cow", pool = Pool, template = General, cores = 1, memory = 256 * MiB, disks = new[] { 1024 * MiB }, from_image = image };
        var id = (await Rest.PostAsync("/api/v1/guests/", body, Admin)).Data!["id"]!.GetValue<string>();
        await WaitCreatedAsync(id);

        var create = Agent.Commands.Single(c => c.CreateInstance?.GuestId == id).CreateInstance;
        Assert.Equal($"{image}|{detail["size"]}", $"{create.SystemImage.Id}|{create.SystemImage.Size}");
        Assert.Matches("^[0-9a-f]{64}$", create.SystemImage.Sha256);
        var inUse = await Rest.DeleteAsync($"/api/v1/disk_images/{image}", null, Admin);
        JsonAssert.Failure(412, inUse);
        Assert.Contains("in use", inUse.Message);

        // Reset from another image: the cell gets it, and the first image is free again once nothing uses it.
        var other = await ImageWithContentAsync("disk_images", $"other-{Suffix}", ImageTests.Qcow2(1 << 20));
        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/guests/{id}/system/", new { from_image = other }, Admin));
        Assert.Equal(other, Agent.Commands.Single(c => c.ResetSystem?.GuestId == id).ResetSystem.Image.Id);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/disk_images/{image}", null, Admin)).ErrorCode);
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/disk_images/{other}", null, Admin));
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/disk_images/{other}", null, Admin)).ErrorCode);

        var empty = (await Rest.PostAsync("/api/v1/disk_images/", new { name = $"empty-{Suffix}" }, Admin)).Data!["id"]!.GetValue<string>();
        JsonAssert.Failure(412, await Rest.PostAsync("/api/v1/guests/", body with { from_image = empty }, Admin)); // no content yet
    }

    [Fact]
    public async Task Media_BootInsertEject_FollowTheGuest()
    {
        var iso = await ImageWithContentAsync("media_images", $"boot-{Suffix}.iso", ImageTests.RandomBytes(4096));
        var id = await CreateGuestAsync("media");
        await WaitCreatedAsync(id);
        JsonAssert.Failure(412, await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso }, Admin)); // stopped
        JsonAssert.Failure(400, await Rest.PostAsync($"/api/v1/instances/{id}", new { from_media = true }, Admin)); // no source

        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{id}", new { from_media = true, source = iso }, Admin));
        Assert.Equal(iso, Agent.Commands.Last(c => c.StartInstance?.GuestId == id).StartInstance.Media.Id);
        Assert.Equal($"true|{iso}", await MediaAsync(id));
        JsonAssert.Failure(412, await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso }, Admin)); // already inserted
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/media_images/{iso}", null, Admin)); // in the drive

        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/instances/{id}/media", null, Admin));
        Assert.Equal("false|", await MediaAsync(id));
        JsonAssert.Failure(412, await Rest.DeleteAsync($"/api/v1/instances/{id}/media", null, Admin)); // nothing to eject
        JsonAssert.Failure(400, await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso, type = 1 }, Admin));
        JsonAssert.Success("\"\"", await Rest.PostAsync($"/api/v1/instances/{id}/media", new { source = iso }, Admin));
        Assert.Equal(iso, Agent.Commands.Last(c => c.InsertMedia?.GuestId == id).InsertMedia.Image.Id);
        Assert.Equal($"true|{iso}", await MediaAsync(id));

        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, Admin)).ErrorCode);
        Assert.Equal("false|", await MediaAsync(id)); // stopping empties the drive
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/media_images/{iso}", null, Admin)).ErrorCode);
        Assert.Equal(0, (await Rest.DeleteAsync($"/api/v1/guests/{id}", null, Admin)).ErrorCode);
    }
}
