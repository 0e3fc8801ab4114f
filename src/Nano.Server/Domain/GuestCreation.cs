using System.Security.Cryptography;
using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// What a client asks for when it creates a guest, as it sent it (strings may be empty, <paramref name="Qos"/> and
/// <paramref name="CloudInit"/> absent): <see cref="GuestRules.Validate"/> checks it and fills the defaults.
/// </summary>
public sealed record GuestAsk(
    string Name, string Owner, string Group, string Pool, string Template, int Cores, long Memory, IReadOnlyList<long> Disks, bool AutoStart,
    IReadOnlyList<string> Modules, GuestQos? Qos, CloudInitSettings? CloudInit, string FromImage, string SecurityPolicyGroup);

/// <summary>What a creation request asks for, validated.</summary>
public sealed record GuestRequest(
    string Name, string Owner, string Group, string Pool, string Template, int Cores, long Memory, long[] Disks, bool AutoStart,
    string[] Modules, GuestQos Qos, CloudInitSettings? CloudInit, string? FromImage, string? SecurityPolicyGroup);

/// <summary>Quality of service asked for at creation.</summary>
public sealed record GuestQos(string CpuPriority, long ReadSpeed, long WriteSpeed, long ReadIops, long WriteIops, long ReceiveSpeed, long SendSpeed);

/// <summary>cloud-init settings asked for at creation.</summary>
public sealed record CloudInitSettings(bool RootEnabled, string AdminName, string AdminSecret, string DataPath);

/// <summary>
/// Creating a guest (api-decisions.md 4.5): schedule a cell (counting what guests still being created hold there, one
/// placement at a time), insert the row and its address together, then
/// an operation asks the cell to create volumes and define the domain. If the cell fails or does not
/// answer, everything is undone in one place (<see cref="UndoAsync"/>): the cell's domain and disks,
/// the address, the row.
/// </summary>
public sealed class GuestCreation(
    GuestRepository guests, ComputePoolRepository pools, CellRepository cells, TemplateRepository templates, AddressPoolRepository addressPools,
    ImageCatalog images, SecurityPolicies policies, CellCommands commands, Operations operations, PoolCpu poolCpu, ILogger<GuestCreation> logger)
{
    public const string Kind = OperationKinds.CreateGuest;

    /// <summary>One placement at a time: a cell is chosen and the guest's row, which reserves its share, written before the next choice.</summary>
    private readonly SemaphoreSlim _placing = new(1, 1);

    /// <summary>Validates, schedules and records the guest; returns its id while the cell works (the operation goes on).</summary>
    public async Task<Guid> StartAsync(GuestRequest request, SessionContext session)
    {
        await _placing.WaitAsync();
        try
        {
            return await PlaceAsync(request, session);
        }
        finally
        {
            _placing.Release();
        }
    }

    private async Task<Guid> PlaceAsync(GuestRequest request, SessionContext session)
    {
        var pool = await pools.FindAsync(request.Pool) ?? throw Fail.NotFound($"compute pool '{request.Pool}' not found");
        var image = request.FromImage is null ? null : await images.FindUsableAsync(session, Images.ImageKinds.Disk, request.FromImage);
        var (policy, policyGroup) = await policies.ForNewGuestAsync(request.SecurityPolicyGroup, session);
        var template = await templates.FindAsync(request.Template) ?? throw Fail.NotFound($"template '{request.Template}' not found");
        var cell = Scheduler.Choose(pool.Name, Scheduler.LessReserved(await cells.ListAsync(pool.Name), await guests.ReservedAsync(pool.Name)),
            request.Cores, request.Memory, request.Disks.Sum());
        var id = Guid.NewGuid();
        var cloudInit = request.Modules.Contains("cloud-init") ? request.CloudInit ?? new CloudInitSettings(true, "", "", "") : null;
        var adminName = cloudInit?.AdminName is { Length: > 0 } name ? name : template.Admin;
        var adminSecret = cloudInit is null ? "" : cloudInit.AdminSecret.Length > 0 ? cloudInit.AdminSecret : Secrets.New(10);
        var guest = new NewGuest(id, $"{request.Group}.{request.Name}", request.Owner, request.Group, pool.Name, cell.Name,
            request.Cores, request.Memory, request.Disks, request.AutoStart, template.OperatingSystem, template.Id, Secrets.New(Secrets.ConsoleLength), Mac(),
            template.Control, adminName, adminSecret, request.Modules, request.Qos.CpuPriority, request.Qos.ReadSpeed, request.Qos.WriteSpeed,
            request.Qos.ReadIops, request.Qos.WriteIops, request.Qos.ReceiveSpeed, request.Qos.SendSpeed,
            template.Disk, template.Network, template.Display, template.Usb, template.Tablet, image?.Id, policyGroup);

        var address = "";
        await operations.StartAsync(Kind, id.ToString(), session.User, async (progress, cancel) =>
        {
            var row = await guests.FindAsync(id) ?? throw Fail.NotFound($"guest {id} vanished while being created");
            var cpu = await poolCpu.ForAsync(pool.Name);
            GuestSeed? seed = null;
            if (cloudInit is not null)
            {
                var network = pool.Network is null ? null : await addressPools.FindAsync(pool.Network);
                seed = new GuestSeed(adminName, adminSecret, request.Name, cloudInit.RootEnabled,
                    cloudInit.DataPath.Length > 0 ? cloudInit.DataPath : "/opt/data", address, network?.Gateway ?? "", network?.Dns ?? []);
            }
            try
            {
                await progress.ReportAsync(image is null ? "creating volumes and domain" : "fetching the disk image, creating volumes and domain", 20);
                // With an image the cell may first fetch it (once per cell): a long step that reports progress.
                var state = await commands.CreateAsync(cell.Name, row, cpu, image, policy, seed,
                    image is null ? null : progress.Within("fetching the disk image", 20, 80), cancel);
                if (request.AutoStart)
                {
                    await progress.ReportAsync("starting", 80);
                    state = await commands.StartOnAsync(cell.Name, id, row.Generation, cpu, cancel);
                }
                // The cell has the guest: an outage now is waited out, not answered by undoing it.
                await DatabaseFaults.WaitOutAsync(() => guests.MarkCreatedAsync(id, running: request.AutoStart, state.DisplayAddress, state.Cpu));
                await progress.ReportAsync("created", 100);
            }
            catch
            {
                await UndoAsync(id, cell.Name);
                throw;
            }
        }, prepare: async operation =>
        {
            (var written, address) = await guests.InsertAsync(guest, policy, pool.Network, operation);
            written.OrFail(exists: $"compute pool '{guest.Pool}' already has a guest named '{guest.Name}'",
                inUse: $"address pool '{pool.Network}' has no free address");
        });
        return id;
    }

    /// <summary>
    /// Compensation: the cell forgets the domain and disks (if it answers; after the creation, which it finishes or undoes
    /// first), the row and address go, and the guest is recorded as abandoned: should the cell still have its domain
    /// (it did not answer, or the removal missed its deadline), the domain goes when the cell reports it.
    /// </summary>
    private async Task UndoAsync(Guid id, string cell)
    {
        try
        {
            await commands.ForgetAsync(cell, id);
        }
        catch (Exception e)
        {
            logger.LogWarning("Undoing guest {Guest} on cell {Cell}: the cell did not clean up ({Reason}); it reports the domain when it rejoins",
                id, cell, e.Message);
        }
        await DatabaseFaults.WaitOutAsync(() => guests.AbandonAsync(id, cell));
    }

    /// <summary>A locally administered MAC in the upstream prefix 00:16:3e.</summary>
    private static string Mac()
    {
        Span<byte> b = stackalloc byte[3];
        RandomNumberGenerator.Fill(b);
        return $"00:16:3e:{b[0] & 0x7f:x2}:{b[1]:x2}:{b[2]:x2}";
    }
}
