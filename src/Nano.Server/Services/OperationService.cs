using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Operations: get, list, cancel, watch. A user sees the operations it started; user administrators see all.</summary>
public sealed class OperationService(OperationRepository rows, Operations operations, IHostApplicationLifetime lifetime)
    : Contracts.V1.OperationService.OperationServiceBase
{
    private const int DefaultLimit = 20;

    public override async Task<GetOperationResponse> GetOperation(GetOperationRequest request, ServerCallContext context) =>
        new() { Data = ToMessage(await FindAsync(request.Id, context)) };

    public override async Task<ListOperationsResponse> ListOperations(ListOperationsRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var limit = request.Limit is <= 0 or > 100 ? DefaultLimit : request.Limit;
        var user = AccessRules.ListedOwner(session);
        var target = string.IsNullOrEmpty(request.Target) ? null : request.Target;
        return new ListOperationsResponse { Data = { (await rows.ListAsync(user, target, request.ActiveOnly, limit)).Select(ToMessage) } };
    }

    public override async Task<CancelOperationResponse> CancelOperation(CancelOperationRequest request, ServerCallContext context)
    {
        var operation = await FindAsync(request.Id, context);
        if (operation.FinishedAt is not null)
            throw Fail.Precondition($"operation {operation.Id} has already finished ({operation.State})");
        await operations.CancelAsync(operation.Id);
        return new CancelOperationResponse();
    }

    public override async Task WatchOperation(WatchOperationRequest request, IServerStreamWriter<WatchOperationResponse> responseStream, ServerCallContext context)
    {
        var first = await FindAsync(request.Id, context);
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await foreach (var row in operations.WatchAsync(first.Id, ending.Token))
                await responseStream.WriteAsync(new WatchOperationResponse { Data = ToMessage(row) }, context.CancellationToken);
        }
        catch (OperationCanceledException) when (ending.IsCancellationRequested)
        {
            // The client left or the server stops: the watch ends.
        }
    }

    /// <summary>The operation, if the caller may see it: its starter, or a user administrator. Others get NOT_FOUND.</summary>
    private async Task<OperationRow> FindAsync(string id, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        if (!Guid.TryParse(id, out var guid))
            throw Fail.NotFound($"operation '{(id.Length > 40 ? id[..40] : id)}' not found");
        var row = await rows.FindAsync(guid);
        if (row is null || !AccessRules.MayChange(session, row.CreatedBy))
            throw Fail.NotFound($"operation '{id}' not found");
        return row;
    }

    private static Operation ToMessage(OperationRow o) => new()
    {
        Id = o.Id.ToString(),
        Kind = o.Kind,
        Target = o.Target,
        State = o.State,
        Stage = o.Stage,
        Percent = o.Percent,
        Error = o.Error,
        User = o.CreatedBy,
        CreatedTime = NanoTime.Print(o.CreatedAt),
        UpdatedTime = NanoTime.Print(o.UpdatedAt),
        Finished = o.FinishedAt is not null,
    };
}
