using Google.Protobuf;
using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Images;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Running guests: status (#57), start (#58, optionally from an ISO), stop (#59), media insert and eject (#60-#61).</summary>
public sealed class InstanceService(GuestAccess access, GuestLifecycle lifecycle, ImageCatalog images) : Contracts.V1.InstanceService.InstanceServiceBase
{
    /// <summary>The configuration plus the figures its cell reported last; REST 201 while being created.</summary>
    public override async Task<GetInstanceStatusResponse> GetInstanceStatus(GetInstanceStatusRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var guest = await access.FindToReadAsync(session, request.Id);
        if (!guest.Created)
            RestStatus.Set(context, StatusCodes.Status201Created);
        var status = new InstanceStatus
        {
            CpuUsage = guest.CpuUsage, MemoryAvailable = Math.Max(0, guest.Memory - guest.MemoryUsed), DiskAvailable = guest.Disks.Sum(),
            BytesRead = guest.BytesRead, BytesWritten = guest.BytesWritten, BytesReceived = guest.BytesReceived, BytesSent = guest.BytesSent,
            MediaSource = guest.MediaSource?.ToString() ?? "",
        };
        // InstanceStatus starts with the Guest fields under the same numbers: the configuration merges in as is.
        Google.Protobuf.MessageExtensions.MergeFrom(status, GuestMessages.ToGuest(guest, withSecret: GuestAccess.MayChange(session, guest)).ToByteString());
        return new GetInstanceStatusResponse { Data = status };
    }

    public override async Task<StartInstanceResponse> StartInstance(StartInstanceRequest request, ServerCallContext context)
    {
        if (request.FromNetwork)
            throw Fail.Invalid("network boot is not supported");
        var session = SessionInterceptor.SessionOf(context);
        var guest = await access.FindAsync(session, request.Id);
        var media = request.FromMedia ? await images.FindUsableAsync(session, ImageKinds.Media, Required(request.Source)) : null;
        await lifecycle.StartAsync(guest, context.CancellationToken, media);
        return new StartInstanceResponse();
    }

    public override async Task<InsertMediaResponse> InsertMedia(InsertMediaRequest request, ServerCallContext context)
    {
        if (request.Type != 0)
            throw Fail.Invalid($"media type {request.Type} is not supported: only 0 (media image)");
        var session = SessionInterceptor.SessionOf(context);
        var guest = await access.FindAsync(session, request.Id);
        var media = await images.FindUsableAsync(session, ImageKinds.Media, Required(request.Source));
        await lifecycle.InsertMediaAsync(guest, media, context.CancellationToken);
        return new InsertMediaResponse();
    }

    public override async Task<EjectMediaResponse> EjectMedia(EjectMediaRequest request, ServerCallContext context)
    {
        await lifecycle.EjectMediaAsync(await access.FindAsync(SessionInterceptor.SessionOf(context), request.Id), context.CancellationToken);
        return new EjectMediaResponse();
    }

    private static string Required(string source) =>
        string.IsNullOrEmpty(source) ? throw Fail.Invalid("source (a media image id) is required") : source;

    public override async Task<StopInstanceResponse> StopInstance(StopInstanceRequest request, ServerCallContext context)
    {
        var guest = await access.FindAsync(SessionInterceptor.SessionOf(context), request.Id);
        await lifecycle.StopAsync(guest, request.Reboot, request.Force, context.CancellationToken);
        return new StopInstanceResponse();
    }
}
