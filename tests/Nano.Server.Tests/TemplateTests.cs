using Nano.Server.Tests.Infrastructure;
using Nano.Testing;

namespace Nano.Server.Tests;

/// <summary>System templates #82-#86.</summary>
public sealed class TemplateTests(InitializedServer fixture) : ApiTest(fixture)
{
    private static readonly object Config = new
    {
        name = "Debian 12", admin = "debian", operating_system = "linux", disk = "sata", network = "virtio",
        display = "vga", control = "vnc", usb = "nec-xhci", tablet = "usb",
    };

    [Fact]
    public async Task DefaultTemplates_ExistAfterFirstStart()
    {
        var list = await Rest.GetAsync("/api/v1/templates/", Admin);
        var names = list.Data!.AsArray().Select(t => t!["name"]!.GetValue<string>()).Take(5).ToList();
        Assert.Equal(["CentOS 7", "CentOS 6", "Windows Server 2012", "General", "Legacy"], names);
        var legacy = await Rest.GetAsync("/api/v1/templates/0qodbfbaa0up00a00005", Admin);
        Assert.Equal("""{"id":"0qodbfbaa0up00a00005","name":"Legacy","admin":"root","operating_system":"linux","disk":"ide","network":"rtl8139","display":"cirrus","control":"vnc","usb":"","tablet":""}""",
            Without(legacy, "created_time", "modified_time"));
    }

    [Fact]
    public async Task Template_CreateGetModifyDelete()
    {
        var created = await Rest.PostAsync("/api/v1/templates/", Config, Admin);
        Assert.Equal(0, created.ErrorCode);
        var id = created.Data!["id"]!.GetValue<string>();
        Assert.Matches("^[0-9a-v]{20}$", id);

        var detail = await Rest.GetAsync($"/api/v1/templates/{id}", Admin);
        Assert.Equal($$"""{"id":"{{id}}","name":"Debian 12","admin":"debian","operating_system":"linux","disk":"sata","network":"virtio","display":"vga","control":"vnc","usb":"nec-xhci","tablet":"usb"}""",
            Without(detail, "created_time", "modified_time"));
        Assert.Matches("^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$", detail.Data!["created_time"]!.GetValue<string>());
        var summary = (await Rest.GetAsync("/api/v1/templates", Admin)).Data!.AsArray().Last()!;
        Assert.Equal(["id", "name", "operating_system", "created_time", "modified_time"], summary.AsObject().Select(p => p.Key));

        JsonAssert.Success("\"\"", await Rest.PutAsync($"/api/v1/templates/{id}", new
        {
            name = "Windows 11", admin = "Administrator", operating_system = "windows", disk = "scsi", network = "e1000",
            display = "qxl", control = "spice", usb = "none", tablet = "none",
        }, Admin));
        Assert.Equal($$"""{"id":"{{id}}","name":"Windows 11","admin":"Administrator","operating_system":"windows","disk":"scsi","network":"e1000","display":"qxl","control":"spice","usb":"","tablet":""}""",
            Without(await Rest.GetAsync($"/api/v1/templates/{id}/", Admin), "created_time", "modified_time"));

        JsonAssert.Success("\"\"", await Rest.DeleteAsync($"/api/v1/templates/{id}", null, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync($"/api/v1/templates/{id}", Admin));
        JsonAssert.Failure(404, await Rest.DeleteAsync($"/api/v1/templates/{id}", null, Admin));
    }

    [Theory]
    [InlineData("operating_system", "bsd")]
    [InlineData("disk", "nvme")]
    [InlineData("network", "virtio-net")]
    [InlineData("display", "svga")]
    [InlineData("control", "rdp")]
    [InlineData("usb", "ehci")]
    [InlineData("tablet", "ps2")]
    [InlineData("admin", "")]
    [InlineData("admin", "root; rm")]
    [InlineData("name", "")]
    public async Task Template_WithABadField_IsRefused(string field, string value)
    {
        var before = (await Rest.GetAsync("/api/v1/templates/", Admin)).Data!.AsArray().Count;
        var body = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(Config))!.AsObject();
        body[field] = value;
        JsonAssert.Failure(400, await Rest.PostAsync("/api/v1/templates/", body.ToJsonString(), Admin));
        Assert.Equal(before, (await Rest.GetAsync("/api/v1/templates/", Admin)).Data!.AsArray().Count);
    }

    [Fact]
    public async Task TemplateNames_AreUnique()
    {
        JsonAssert.Failure(409, await Rest.PostAsync("/api/v1/templates/", new
        {
            name = "General", admin = "root", operating_system = "linux", disk = "sata", network = "virtio", display = "vga", control = "vnc",
        }, Admin));
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/templates/not-an-id", Admin));
    }

    private static string Without(RestAnswer answer, params string[] fields)
    {
        Assert.Equal(0, answer.ErrorCode);
        var data = answer.Data!.DeepClone().AsObject();
        foreach (var field in fields)
            Assert.True(data.Remove(field), $"no {field}");
        return data.ToJsonString();
    }
}
