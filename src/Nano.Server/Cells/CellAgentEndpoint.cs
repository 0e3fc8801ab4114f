using Grpc.Core;
using Nano.Contracts.Cell.V1;

namespace Nano.Server.Cells;

/// <summary>The gRPC service agents dial (nano.cell.v1.CellAgentService); the work is in <see cref="CellGateway"/>.</summary>
public sealed class CellAgentEndpoint(CellGateway gateway) : CellAgentService.CellAgentServiceBase
{
    public override Task Connect(IAsyncStreamReader<ConnectRequest> requestStream, IServerStreamWriter<ConnectResponse> responseStream, ServerCallContext context) =>
        gateway.ServeAsync(requestStream, responseStream, context);
}
