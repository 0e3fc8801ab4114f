using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Hosting;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Visibility flags of the caller's own group.</summary>
public sealed class ResourceVisibilityService(UserGroupRepository groups)
    : Contracts.V1.ResourceVisibilityService.ResourceVisibilityServiceBase
{
    public override async Task<GetResourceVisibilityResponse> GetResourceVisibility(GetResourceVisibilityRequest request, ServerCallContext context)
    {
        var group = CallerGroup(context);
        var flags = await groups.GetVisibilityAsync(group) ?? throw Fail.NotFound($"user group '{group}' not found");
        return new GetResourceVisibilityResponse
        {
            Data = new ResourceVisibility
            {
                InstanceVisible = flags.InstanceVisible,
                MediaImageVisible = flags.MediaImageVisible,
                DiskImageVisible = flags.DiskImageVisible,
            },
        };
    }

    /// <summary>Replaces all three flags; omitted ones become false.</summary>
    public override async Task<ModifyResourceVisibilityResponse> ModifyResourceVisibility(ModifyResourceVisibilityRequest request, ServerCallContext context)
    {
        var group = CallerGroup(context);
        await groups.SetVisibilityAsync(group, new VisibilityRow(request.InstanceVisible, request.MediaImageVisible, request.DiskImageVisible))
            .OrFail(missing: $"user group '{group}' not found");
        return new ModifyResourceVisibilityResponse();
    }

    private static string CallerGroup(ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        return session.Group.Length > 0 ? session.Group : throw Fail.Precondition($"user '{session.User}' is not in any user group");
    }
}
