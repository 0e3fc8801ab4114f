using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;

namespace Nano.Server.Services;

/// <summary>Batch tasks #99-#104: REST 202 on submission, and 202 on reads while any item is still in progress.</summary>
public sealed class BatchService(Batches batches) : Contracts.V1.BatchService.BatchServiceBase
{
    public override async Task<StartBatchCreateGuestResponse> StartBatchCreateGuest(StartBatchCreateGuestRequest request, ServerCallContext context)
    {
        var id = await batches.StartCreateAsync(request.NameRule, request.NamePrefix, request.Count, GuestMessages.Ask(request), SessionInterceptor.SessionOf(context));
        RestStatus.Set(context, StatusCodes.Status202Accepted);
        return new StartBatchCreateGuestResponse { Data = new IdData { Id = id.ToString() } };
    }

    public override async Task<GetBatchCreateGuestResponse> GetBatchCreateGuest(GetBatchCreateGuestRequest request, ServerCallContext context)
    {
        var (items, finished) = await batches.GetAsync(Batches.CreateKind, request.Id, SessionInterceptor.SessionOf(context));
        Pending(finished, context);
        return new GetBatchCreateGuestResponse
        {
            Data =
            {
                items.Select(i => new BatchCreateItem
                {
                    Name = i.Name, Id = i.Guest?.ToString() ?? "", Status = i.Status, Error = i.Error, Progress = i.Status == "fail" ? 0 : i.Progress,
                }),
            },
        };
    }

    public override async Task<StartBatchDeleteGuestResponse> StartBatchDeleteGuest(StartBatchDeleteGuestRequest request, ServerCallContext context)
    {
        var id = await batches.StartDeleteAsync(request.Guest, SessionInterceptor.SessionOf(context));
        RestStatus.Set(context, StatusCodes.Status202Accepted);
        return new StartBatchDeleteGuestResponse { Data = new IdData { Id = id.ToString() } };
    }

    public override async Task<GetBatchDeleteGuestResponse> GetBatchDeleteGuest(GetBatchDeleteGuestRequest request, ServerCallContext context)
    {
        var (items, finished) = await batches.GetAsync(Batches.DeleteKind, request.Id, SessionInterceptor.SessionOf(context));
        Pending(finished, context);
        return new GetBatchDeleteGuestResponse { Data = { items.Select(Item) } };
    }

    /// <summary>The document's example names the list "guests", the schema "guest": both are read.</summary>
    public override async Task<StartBatchStopGuestResponse> StartBatchStopGuest(StartBatchStopGuestRequest request, ServerCallContext context)
    {
        var id = await batches.StartStopAsync([.. request.Guest, .. request.Guests], request.Force, SessionInterceptor.SessionOf(context));
        RestStatus.Set(context, StatusCodes.Status202Accepted);
        return new StartBatchStopGuestResponse { Data = new IdData { Id = id.ToString() } };
    }

    public override async Task<GetBatchStopGuestResponse> GetBatchStopGuest(GetBatchStopGuestRequest request, ServerCallContext context)
    {
        var (items, finished) = await batches.GetAsync(Batches.StopKind, request.Id, SessionInterceptor.SessionOf(context));
        Pending(finished, context);
        return new GetBatchStopGuestResponse { Data = { items.Select(Item) } };
    }

    private static BatchItem Item(BatchItemRow i) => new() { Name = i.Name, Id = i.Guest?.ToString() ?? "", Status = i.Status, Error = i.Error };

    private static void Pending(bool finished, ServerCallContext context)
    {
        if (!finished)
            RestStatus.Set(context, StatusCodes.Status202Accepted);
    }
}
