using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>System templates #82-#86.</summary>
public sealed class TemplateService(TemplateRepository templates) : Contracts.V1.TemplateService.TemplateServiceBase
{
    private static readonly string[] Systems = ["linux", "windows"];
    private static readonly string[] Disks = ["scsi", "sata", "ide"];
    private static readonly string[] Networks = ["virtio", "e1000", "rtl8139"];
    private static readonly string[] Displays = ["vga", "cirrus", "qxl", "virtio", "none"];
    private static readonly string[] Controls = ["vnc", "spice"];
    private static readonly string[] Usbs = ["", "nec-xhci"];
    private static readonly string[] Tablets = ["", "usb", "virtio"];

    public override async Task<ListTemplatesResponse> ListTemplates(ListTemplatesRequest request, ServerCallContext context) => new()
    {
        Data =
        {
            (await templates.ListAsync()).Select(t => new TemplateSummary
            {
                Id = t.Id, Name = t.Name, OperatingSystem = t.OperatingSystem,
                CreatedTime = NanoTime.Print(t.CreatedAt), ModifiedTime = NanoTime.Print(t.ModifiedAt),
            }),
        },
    };

    public override async Task<GetTemplateResponse> GetTemplate(GetTemplateRequest request, ServerCallContext context)
    {
        var t = await templates.FindAsync(Id(request.Id)) ?? throw Fail.NotFound($"template '{request.Id}' not found");
        return new GetTemplateResponse
        {
            Data = new Template
            {
                Id = t.Id, Name = t.Name, Admin = t.Admin, OperatingSystem = t.OperatingSystem, Disk = t.Disk, Network = t.Network,
                Display = t.Display, Control = t.Control, Usb = t.Usb, Tablet = t.Tablet,
                CreatedTime = NanoTime.Print(t.CreatedAt), ModifiedTime = NanoTime.Print(t.ModifiedAt),
            },
        };
    }

    public override async Task<CreateTemplateResponse> CreateTemplate(CreateTemplateRequest request, ServerCallContext context)
    {
        var config = Validate(request.Name, request.Admin, request.OperatingSystem, request.Disk, request.Network, request.Display,
            request.Control, request.Usb, request.Tablet);
        var id = Xid.New();
        await templates.CreateAsync(id, config).OrFail(exists: $"a template named '{config.Name}' already exists");
        return new CreateTemplateResponse { Data = new IdData { Id = id } };
    }

    public override async Task<ModifyTemplateResponse> ModifyTemplate(ModifyTemplateRequest request, ServerCallContext context)
    {
        var config = Validate(request.Name, request.Admin, request.OperatingSystem, request.Disk, request.Network, request.Display,
            request.Control, request.Usb, request.Tablet);
        var id = Id(request.Id);
        await templates.UpdateAsync(id, config).OrFail(missing: $"template '{id}' not found", exists: $"a template named '{config.Name}' already exists");
        return new ModifyTemplateResponse();
    }

    public override async Task<DeleteTemplateResponse> DeleteTemplate(DeleteTemplateRequest request, ServerCallContext context)
    {
        var id = Id(request.Id);
        await templates.DeleteAsync(id).OrFail(missing: $"template '{id}' not found");
        return new DeleteTemplateResponse();
    }

    private static string Id(string id) => Xid.IsValid(id) ? id : throw Fail.NotFound($"template '{(id.Length > 40 ? id[..40] : id)}' not found");

    /// <summary>"none" is accepted for usb and tablet as the document's examples write it; it means "" (none).</summary>
    private static TemplateConfig Validate(string name, string admin, string system, string disk, string network, string display,
        string control, string usb, string tablet)
    {
        name = IdentityRules.Text("name", name, 64).Trim();
        if (name.Length == 0)
            throw Fail.Invalid("template name is required");
        admin = InputRules.Name("admin", admin);
        usb = usb == "none" ? "" : usb;
        tablet = tablet == "none" ? "" : tablet;
        return new TemplateConfig(name, admin, OneOf("operating_system", system, Systems), OneOf("disk", disk, Disks),
            OneOf("network", network, Networks), OneOf("display", display, Displays), OneOf("control", control, Controls),
            OneOf("usb", usb, Usbs), OneOf("tablet", tablet, Tablets));
    }

    private static string OneOf(string field, string value, string[] allowed) =>
        allowed.Contains(value) ? value : throw Fail.Invalid($"{field} must be one of {string.Join(", ", allowed.Select(a => a.Length == 0 ? "\"\"" : a))}, not '{value}'");
}
