using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Guests: create, get, search, delete, and every change of a created guest (hardware, disks, system, credentials, security policy).</summary>
public sealed class GuestService(
    GuestCreation creation, GuestAccess access, GuestLifecycle lifecycle, GuestChanges changes, GuestRepository guests, Operations operations,
    SecurityPolicies policies, SecurityPolicyRepository policyRows, GuestLimits limits)
    : Contracts.V1.GuestService.GuestServiceBase
{
    /// <summary>Answers the new id at once (REST 202); the creation goes on as an operation.</summary>
    public override async Task<CreateGuestResponse> CreateGuest(CreateGuestRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var id = await creation.StartAsync(GuestRules.Validate(GuestMessages.Ask(request), session, limits), session);
        RestStatus.Set(context, StatusCodes.Status202Accepted);
        return new CreateGuestResponse { Data = new IdData { Id = id.ToString() } };
    }

    /// <summary>REST 201 while the guest is being created. A creation that failed is reported once, then the id is unknown.</summary>
    public override async Task<GetGuestResponse> GetGuest(GetGuestRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        GuestRow guest;
        try
        {
            guest = await access.FindToReadAsync(session, request.Id);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && Guid.TryParse(request.Id, out _))
        {
            var user = AccessRules.ListedOwner(session);
            var failure = await operations.TakeFailureAsync(GuestCreation.Kind, request.Id, user, context.CancellationToken);
            throw failure is null ? e : Fail.Precondition($"creating guest {request.Id} failed: {failure}");
        }
        if (!guest.Created)
            RestStatus.Set(context, StatusCodes.Status201Created);
        return new GetGuestResponse { Data = GuestMessages.ToGuest(guest, withSecret: GuestAccess.MayChange(session, guest)) };
    }

    public override async Task<DeleteGuestResponse> DeleteGuest(DeleteGuestRequest request, ServerCallContext context)
    {
        var guest = await access.FindAsync(SessionInterceptor.SessionOf(context), request.Id);
        await lifecycle.DeleteAsync(guest, context.CancellationToken);
        return new DeleteGuestResponse();
    }

    public override async Task<ModifyGuestCoresResponse> ModifyGuestCores(ModifyGuestCoresRequest request, ServerCallContext context)
    {
        await changes.SetCoresAsync(await FindAsync(request.Id, context), request.Cores, context.CancellationToken);
        return new ModifyGuestCoresResponse();
    }

    public override async Task<ModifyGuestMemoryResponse> ModifyGuestMemory(ModifyGuestMemoryRequest request, ServerCallContext context)
    {
        await changes.SetMemoryAsync(await FindAsync(request.Id, context), request.Memory, context.CancellationToken);
        return new ModifyGuestMemoryResponse();
    }

    public override async Task<ModifyGuestAutoStartResponse> ModifyGuestAutoStart(ModifyGuestAutoStartRequest request, ServerCallContext context)
    {
        await changes.SetAutoStartAsync(await FindAsync(request.Id, context), request.Enable, context.CancellationToken);
        return new ModifyGuestAutoStartResponse();
    }

    public override async Task<RenameGuestResponse> RenameGuest(RenameGuestRequest request, ServerCallContext context)
    {
        await changes.RenameAsync(await FindAsync(request.Id, context), request.Name, context.CancellationToken);
        return new RenameGuestResponse();
    }

    public override async Task<ModifyGuestCpuPriorityResponse> ModifyGuestCpuPriority(ModifyGuestCpuPriorityRequest request, ServerCallContext context)
    {
        await changes.SetCpuPriorityAsync(await FindAsync(request.Id, context), request.Priority, context.CancellationToken);
        return new ModifyGuestCpuPriorityResponse();
    }

    public override async Task<ModifyGuestDiskQosResponse> ModifyGuestDiskQos(ModifyGuestDiskQosRequest request, ServerCallContext context)
    {
        await changes.SetDiskLimitsAsync(await FindAsync(request.Id, context), request.ReadSpeed, request.WriteSpeed, request.ReadIops, request.WriteIops,
            context.CancellationToken);
        return new ModifyGuestDiskQosResponse();
    }

    public override async Task<ModifyGuestNetworkQosResponse> ModifyGuestNetworkQos(ModifyGuestNetworkQosRequest request, ServerCallContext context)
    {
        await changes.SetNetworkLimitsAsync(await FindAsync(request.Id, context), request.ReceiveSpeed, request.SendSpeed, context.CancellationToken);
        return new ModifyGuestNetworkQosResponse();
    }

    public override async Task<ResetGuestMonitorSecretResponse> ResetGuestMonitorSecret(ResetGuestMonitorSecretRequest request, ServerCallContext context)
    {
        await changes.ResetMonitorSecretAsync(await FindAsync(request.Id, context), context.CancellationToken);
        return new ResetGuestMonitorSecretResponse();
    }

    /// <summary>#51: the guest's firewall policy (accept-all with no rules unless it was copied from a group).</summary>
    public override async Task<GetGuestSecurityPolicyResponse> GetGuestSecurityPolicy(GetGuestSecurityPolicyRequest request, ServerCallContext context)
    {
        var policy = await policyRows.GuestPolicyAsync((await access.FindToReadAsync(SessionInterceptor.SessionOf(context), request.Id)).Id);
        return new GetGuestSecurityPolicyResponse
        {
            Data = new GuestSecurityPolicy { DefaultAction = policy.DefaultAction, Rules = { policy.Rules.Select(SecurityPolicyGroupService.ToMessage) } },
        };
    }

    public override async Task<ModifyGuestDefaultActionResponse> ModifyGuestDefaultAction(ModifyGuestDefaultActionRequest request, ServerCallContext context)
    {
        var action = SecurityRules.Action(request.Action);
        await policies.ChangeGuestAsync(await FindAsync(request.Id, context), p => p.DefaultAction != action
            ? p with { DefaultAction = action }
            : throw Fail.Precondition($"the default action is already {action}"), context.CancellationToken);
        return new ModifyGuestDefaultActionResponse();
    }

    public override async Task<AddGuestSecurityRuleResponse> AddGuestSecurityRule(AddGuestSecurityRuleRequest request, ServerCallContext context)
    {
        var rule = SecurityRules.Rule(request.Action, request.Protocol, request.FromAddress, request.ToAddress, request.ToPort, request.Interface);
        await policies.ChangeGuestAsync(await FindAsync(request.Id, context),
            p => p with { Rules = SecurityRules.Add(p.Rules, rule, withDestination: true) }, context.CancellationToken);
        return new AddGuestSecurityRuleResponse();
    }

    public override async Task<ModifyGuestSecurityRuleResponse> ModifyGuestSecurityRule(ModifyGuestSecurityRuleRequest request, ServerCallContext context)
    {
        var rule = SecurityRules.Rule(request.Action, request.Protocol, request.FromAddress, request.ToAddress, request.ToPort, request.Interface);
        await policies.ChangeGuestAsync(await FindAsync(GuestOf(request.Guest, context), context),
            p => p with { Rules = SecurityRules.Replace(p.Rules, request.Index, rule, withDestination: true) }, context.CancellationToken);
        return new ModifyGuestSecurityRuleResponse();
    }

    public override async Task<MoveGuestSecurityRuleResponse> MoveGuestSecurityRule(MoveGuestSecurityRuleRequest request, ServerCallContext context)
    {
        await policies.ChangeGuestAsync(await FindAsync(GuestOf(request.Guest, context), context),
            p => p with { Rules = SecurityRules.Move(p.Rules, request.Index, request.Direction) }, context.CancellationToken);
        return new MoveGuestSecurityRuleResponse();
    }

    public override async Task<RemoveGuestSecurityRuleResponse> RemoveGuestSecurityRule(RemoveGuestSecurityRuleRequest request, ServerCallContext context)
    {
        await policies.ChangeGuestAsync(await FindAsync(GuestOf(request.Guest, context), context),
            p => p with { Rules = SecurityRules.Remove(p.Rules, request.Index) }, context.CancellationToken);
        return new RemoveGuestSecurityRuleResponse();
    }

    /// <summary>
    /// A4: the documented rule routes carry no guest id in the path; it comes from the body field or the
    /// query ?guest= (transcoding binds no query parameter when the whole body is the request).
    /// </summary>
    private static string GuestOf(string fromRequest, ServerCallContext context)
    {
        var guest = fromRequest.Length > 0 ? fromRequest : context.GetHttpContext().Request.Query["guest"].ToString();
        return guest.Length > 0 ? guest : throw Fail.Invalid("guest is required: put its id in the path, the body field guest or the query ?guest=");
    }

    public override async Task<ResizeGuestDiskResponse> ResizeGuestDisk(ResizeGuestDiskRequest request, ServerCallContext context)
    {
        await changes.ResizeDiskAsync(await FindAsync(request.Id, context), request.Disk, request.Size, context.CancellationToken);
        return new ResizeGuestDiskResponse();
    }

    public override async Task<ShrinkGuestDiskResponse> ShrinkGuestDisk(ShrinkGuestDiskRequest request, ServerCallContext context)
    {
        await changes.ShrinkDiskAsync(await FindAsync(request.Id, context), request.Disk, context.CancellationToken);
        return new ShrinkGuestDiskResponse();
    }

    /// <summary>#35: created guests of a pool, or of one cell (then the pool is not needed), that the caller may list.</summary>
    public override async Task<QueryGuestsResponse> QueryGuests(QueryGuestsRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var cell = InputRules.OptionalName("cell", request.Cell);
        var pool = cell is null ? InputRules.Name("compute pool", request.Pool) : null;
        bool? running = request.HasStatus ? request.Status == 1 : null;
        bool? created = request.Created switch
        {
            "" => null,
            "true" => true,
            "false" => false,
            _ => throw Fail.Invalid($"created must be true or false, not '{request.Created}'"),
        };
        var found = await guests.SearchAsync(session.User, await access.VisibleGroupAsync(session), pool, cell, created ?? true, running, keyword: null);
        return new QueryGuestsResponse { Data = { found.Select(GuestMessages.ToGuest) } };
    }

    /// <summary>B4: a page of the guests the caller may list, by pool, cell and a keyword.</summary>
    public override async Task<SearchGuestsResponse> SearchGuests(SearchGuestsRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        if (request.Keyword.Contains(' '))
            throw Fail.Invalid("keyword must be one word");
        if (request.Offset < 0)
            throw Fail.Invalid("offset must not be negative");
        var limit = request.Limit <= 0 ? 20 : Math.Min(request.Limit, 1000);
        var cell = InputRules.OptionalName("cell", request.Cell);
        var found = await guests.SearchAsync(session.User, await access.VisibleGroupAsync(session), InputRules.OptionalName("compute pool", request.Pool), cell,
            created: cell is null ? null : true, running: null, keyword: string.IsNullOrEmpty(request.Keyword) ? null : request.Keyword);
        if (found.Count > 0 && request.Offset >= found.Count)
            throw Fail.Invalid($"offset {request.Offset} is past the {found.Count} matching guests");
        return new SearchGuestsResponse
        {
            Data = new GuestSearchResult
            {
                Result = { found.Skip(request.Offset).Take(limit).Select(GuestMessages.ToGuest) },
                Total = found.Count, Limit = limit, Offset = request.Offset,
            },
        };
    }

    public override async Task<ResetGuestSystemResponse> ResetGuestSystem(ResetGuestSystemRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        await changes.ResetSystemAsync(await FindAsync(request.Id, context), request.FromImage, session, context.CancellationToken);
        return new ResetGuestSystemResponse();
    }

    public override async Task<ModifyGuestAuthResponse> ModifyGuestAuth(ModifyGuestAuthRequest request, ServerCallContext context)
    {
        var (user, password) = await changes.SetAuthAsync(await FindAsync(request.Id, context), request.User, request.Password, context.CancellationToken);
        return new ModifyGuestAuthResponse { Data = new GuestAuth { User = user, Password = password } };
    }

    /// <summary>#46: the stored administrator name and password (from cloud-init or the template).</summary>
    public override async Task<GetGuestAuthResponse> GetGuestAuth(GetGuestAuthRequest request, ServerCallContext context)
    {
        var guest = await FindAsync(request.Id, context);
        return new GetGuestAuthResponse { Data = new GuestAuth { User = guest.AdminName, Password = guest.AdminSecret } };
    }

    private Task<GuestRow> FindAsync(string id, ServerCallContext context) => access.FindAsync(SessionInterceptor.SessionOf(context), id);
}
