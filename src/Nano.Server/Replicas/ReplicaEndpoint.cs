using Grpc.Core;
using Nano.Contracts.Replica.V1;
using Nano.Server.Cells;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Replicas;

/// <summary>
/// What this replica does for the others (nano.replica.v1.ReplicaService): commands and consoles for the cells whose
/// streams it holds. Every call must present the zone's replica key.
/// </summary>
public sealed class ReplicaEndpoint(CellGateway gateway, ConsoleTunnels tunnels, ReplicaClients clients) : ReplicaService.ReplicaServiceBase
{
    public override async Task RunCommand(RunCommandRequest request, IServerStreamWriter<RunCommandResponse> responseStream, ServerCallContext context)
    {
        await AdmitAsync(context);
        Func<int, Task>? progress = request.LongWork ? percent => responseStream.WriteAsync(new RunCommandResponse { Percent = percent }) : null;
        Contracts.Cell.V1.CommandResult result;
        try
        {
            result = await gateway.RunHereAsync(request.Cell, request.Command, progress, context.CancellationToken);
        }
        catch (CellDisconnectedException e)
        {
            throw Moved(e.Status.Detail);
        }
        await responseStream.WriteAsync(new RunCommandResponse { Result = result });
    }

    public override async Task Console(IAsyncStreamReader<ConsoleRequest> requestStream, IServerStreamWriter<ConsoleResponse> responseStream, ServerCallContext context)
    {
        await AdmitAsync(context);
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.Target is not { } target || !Guid.TryParse(target.GuestId, out var guest))
            throw Fail.Invalid("the first message of a console names its cell and guest");
        if (!gateway.HoldsStream(target.Cell))
            throw Moved($"cell '{target.Cell}' has no stream on this replica");
        var tunnel = await tunnels.OpenHereAsync(target.Cell, guest, ct);
        try
        {
            var toGuest = Task.Run(async () =>
            {
                while (await requestStream.MoveNext(ct))
                    await tunnel.SendAsync(requestStream.Current.Data.Memory, ct);
            }, ct);
            await foreach (var bytes in tunnel.ReceiveAsync(ct))
                await responseStream.WriteAsync(new ConsoleResponse { Data = Google.Protobuf.ByteString.CopyFrom(bytes.Span) }, ct);
            await toGuest.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        finally
        {
            tunnel.Close();
        }
    }

    public override async Task<DescribeCellStreamResponse> DescribeCellStream(DescribeCellStreamRequest request, ServerCallContext context)
    {
        await AdmitAsync(context);
        return gateway.Silence(request.Cell) is { } silence
            ? new DescribeCellStreamResponse { Held = true, SilentMs = (long)silence.TotalMilliseconds }
            : new DescribeCellStreamResponse();
    }

    private async Task AdmitAsync(ServerCallContext context)
    {
        if (!await clients.AdmitsAsync(context))
            throw Fail.Unauthenticated("not a replica of this zone (nano-replica-key)");
    }

    private static RpcException Moved(string detail) =>
        new(new Status(StatusCode.Unavailable, detail), new Metadata { { ReplicaClients.MovedTrailer, "1" } });
}
