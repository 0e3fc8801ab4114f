using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Hosting;

namespace Nano.Server.Services;

/// <summary>Snapshots #62-#66 of stopped guests.</summary>
public sealed class SnapshotService(GuestAccess access, Snapshots snapshots) : Contracts.V1.SnapshotService.SnapshotServiceBase
{
    /// <summary>The tree as a map by name ({} when there is none).</summary>
    public override async Task<ListSnapshotsResponse> ListSnapshots(ListSnapshotsRequest request, ServerCallContext context)
    {
        var guest = await access.FindToReadAsync(SessionInterceptor.SessionOf(context), request.Id);
        var response = new ListSnapshotsResponse();
        foreach (var s in await snapshots.ListAsync(guest))
            response.Data[s.Name] = new SnapshotNode { IsRoot = s.Parent is null, IsCurrent = s.IsCurrent, Backing = s.Parent ?? "" };
        return response;
    }

    public override async Task<CreateSnapshotResponse> CreateSnapshot(CreateSnapshotRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var guest = await access.FindAsync(session, request.Id);
        await snapshots.CreateAsync(guest, request.Name, request.Description, session.User, context.CancellationToken);
        return new CreateSnapshotResponse();
    }

    public override async Task<RestoreSnapshotResponse> RestoreSnapshot(RestoreSnapshotRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var guest = await access.FindAsync(session, request.Id);
        await snapshots.RevertAsync(guest, request.Target, session.User, context.CancellationToken);
        return new RestoreSnapshotResponse();
    }

    public override async Task<GetSnapshotResponse> GetSnapshot(GetSnapshotRequest request, ServerCallContext context)
    {
        var guest = await access.FindToReadAsync(SessionInterceptor.SessionOf(context), request.Id);
        var snapshot = await snapshots.FindAsync(guest, request.Name);
        return new GetSnapshotResponse { Data = new Snapshot { Running = false, Description = snapshot.Description, CreateTime = NanoTime.Print(snapshot.CreatedAt) } };
    }

    public override async Task<DeleteSnapshotResponse> DeleteSnapshot(DeleteSnapshotRequest request, ServerCallContext context)
    {
        var guest = await access.FindAsync(SessionInterceptor.SessionOf(context), request.Id);
        await snapshots.DeleteAsync(guest, request.Name, context.CancellationToken);
        return new DeleteSnapshotResponse();
    }
}
