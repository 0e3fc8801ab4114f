using Google.Protobuf;
using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Hosting;

namespace Nano.Server.Services;

/// <summary>Running guests: status (#57), start (#58), stop (#59); media (#60-#61) come with the images area.</summary>
public sealed class InstanceService(GuestAccess access, GuestLifecycle lifecycle) : Contracts.V1.InstanceService.InstanceServiceBase
{
    /// <summary>The configuration plus the figures its cell reported last; REST 201 while being created.</summary>
    public override async Task<GetInstanceStatusResponse> GetInstanceStatus(GetInstanceStatusRequest request, ServerCallContext context)
    {
        var guest = await access.FindAsync(SessionInterceptor.SessionOf(context), request.Id);
        if (!guest.Created)
            RestStatus.Set(context, StatusCodes.Status201Created);
        var status = new InstanceStatus
        {
            CpuUsage = guest.CpuUsage, MemoryAvailable = Math.Max(0, guest.Memory - guest.MemoryUsed), DiskAvailable = guest.Disks.Sum(),
            BytesRead = guest.BytesRead, BytesWritten = guest.BytesWritten, BytesReceived = guest.BytesReceived, BytesSent = guest.BytesSent,
        };
        // InstanceStatus starts with the Guest fields under the same numbers: the configuration merges in as is.
        Google.Protobuf.MessageExtensions.MergeFrom(status, GuestMessages.ToGuest(guest, withSecret: true).ToByteString());
        return new GetInstanceStatusResponse { Data = status };
    }

    public override async Task<StartInstanceResponse> StartInstance(StartInstanceRequest request, ServerCallContext context)
    {
        if (request.FromMedia)
            throw new RpcException(new Status(StatusCode.Unimplemented, "booting from a media image comes with the images area"));
        if (request.FromNetwork)
            throw Fail.Invalid("network boot is not supported");
        var guest = await access.FindAsync(SessionInterceptor.SessionOf(context), request.Id);
        await lifecycle.StartAsync(guest, context.CancellationToken);
        return new StartInstanceResponse();
    }

    public override async Task<StopInstanceResponse> StopInstance(StopInstanceRequest request, ServerCallContext context)
    {
        var guest = await access.FindAsync(SessionInterceptor.SessionOf(context), request.Id);
        await lifecycle.StopAsync(guest, request.Reboot, request.Force, context.CancellationToken);
        return new StopInstanceResponse();
    }
}
