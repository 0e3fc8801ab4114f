using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>Resource visibility of the caller's group #127-#128.</summary>
public sealed class VisibilityTests(InitializedServer fixture) : IClassFixture<InitializedServer>
{
    [Fact]
    public async Task Visibility_DefaultsFalse_PutReplacesAll()
    {
        var rest = fixture.Rest;
        var session = fixture.AdminSession;
        JsonAssert.Success("""{"instance_visible":false,"media_image_visible":false,"disk_image_visible":false}""",
            await rest.GetAsync("/api/v1/resource_visibilities/", session));
        JsonAssert.Success("\"\"", await rest.PutAsync("/api/v1/resource_visibilities/", new { instance_visible = true, disk_image_visible = true }, session));
        JsonAssert.Success("""{"instance_visible":true,"media_image_visible":false,"disk_image_visible":true}""",
            await rest.GetAsync("/api/v1/resource_visibilities", session));
        JsonAssert.Success("\"\"", await rest.PutAsync("/api/v1/resource_visibilities/", new { media_image_visible = true }, session));
        JsonAssert.Success("""{"instance_visible":false,"media_image_visible":true,"disk_image_visible":false}""",
            await rest.GetAsync("/api/v1/resource_visibilities", session));
    }

    [Fact]
    public async Task Visibility_IsPerGroup_AndChangingItNeedsTheMenu()
    {
        var viewer = await fixture.UserWithMenusAsync("vis", "dashboard");
        JsonAssert.Success("""{"instance_visible":false,"media_image_visible":false,"disk_image_visible":false}""",
            await fixture.Rest.GetAsync("/api/v1/resource_visibilities/", viewer));
        JsonAssert.Failure(403, await fixture.Rest.PutAsync("/api/v1/resource_visibilities/", new { instance_visible = true }, viewer));
    }
}
