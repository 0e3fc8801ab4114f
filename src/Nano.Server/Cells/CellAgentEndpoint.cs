using Grpc.Core;
using Nano.Contracts.Cell.V1;
using Nano.Server.Data;
using Nano.Server.Images;
using Nano.Server.Domain.Rules;
using Nano.Server.Replicas;

namespace Nano.Server.Cells;

/// <summary>
/// The gRPC service agents dial (nano.cell.v1.CellAgentService): the command stream (the work is in
/// <see cref="CellGateway"/>), the image transfers between the store and cells, and console tunnels.
/// </summary>
public sealed class CellAgentEndpoint(
    CellGateway gateway, CellIdentity identity, ImageRepository images, ImageStore store, ImageExports exports, ConsoleTunnels tunnels,
    ReplicaClients replicas, ReplicaRepository registry) : CellAgentService.CellAgentServiceBase
{
    public const string TokenHeader = "nano-cell-token";

    public override Task Connect(IAsyncStreamReader<ConnectRequest> requestStream, IServerStreamWriter<ConnectResponse> responseStream, ServerCallContext context) =>
        gateway.ServeAsync(requestStream, responseStream, context);

    /// <summary>One version of an image (or a file staged under an export ticket), from an offset; refused when the store holds another version by now.</summary>
    public override async Task FetchImage(FetchImageRequest request, IServerStreamWriter<FetchImageResponse> responseStream, ServerCallContext context)
    {
        await AdmitAsync(context);
        if (exports.OwnerElsewhere(request.Ticket) is { } owner)
        {
            await replicas.FetchAsync(await OwnerUrlAsync(owner), request, responseStream, context.CancellationToken);
            return;
        }
        if (request.Ticket.Length > 0)
        {
            var staged = exports.Staged(request.Ticket) ?? throw Fail.NotFound("no file is staged under that ticket");
            await StreamAsync(staged.TempPath, request.Offset, responseStream, context.CancellationToken);
            return;
        }
        var image = Guid.TryParse(request.ImageId, out var id) ? await images.FindAnyAsync(id) : null;
        if (image is null)
            throw Fail.NotFound($"image '{request.ImageId}' not found");
        if (!image.Created || image.LockedBy is not null || image.Sha256 != request.Sha256)
            throw Fail.Precondition($"image {id} no longer holds version {request.Sha256}");
        await StreamAsync(store.PathOf(image.Kind, id), request.Offset, responseStream, context.CancellationToken);
    }

    private static async Task StreamAsync(string path, long from, IServerStreamWriter<FetchImageResponse> responseStream, CancellationToken cancellationToken)
    {
        await using var file = ImageStore.OpenAt(path, from);
        await foreach (var (offset, chunk) in ImageStore.ReadChunksAsync(file, cancellationToken))
            await responseStream.WriteAsync(new FetchImageResponse { Offset = offset, Chunk = chunk }, cancellationToken);
    }

    /// <summary>A file the server asked for with an ExportSystem command, staged against its ticket.</summary>
    public override async Task<PushImageResponse> PushImage(IAsyncStreamReader<PushImageRequest> requestStream, ServerCallContext context)
    {
        await AdmitAsync(context);
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.PartCase != PushImageRequest.PartOneofCase.Ticket)
            throw Fail.Invalid("the first message of a push is its ticket");
        if (exports.OwnerElsewhere(requestStream.Current.Ticket) is { } owner)
            return await replicas.PushAsync(await OwnerUrlAsync(owner), requestStream.Current.Ticket, requestStream, ct);
        var staged = await exports.ReceiveAsync(requestStream.Current.Ticket, async (write, token) =>
        {
            while (await requestStream.MoveNext(token))
                await write(requestStream.Current.Chunk.Memory);
        }, ct);
        return new PushImageResponse { Size = staged.Size, Sha256 = staged.Sha256 };
    }

    /// <summary>Over TLS, with the join token, a cell's certificate for its own key (once per name).</summary>
    public override async Task<EnrollResponse> Enroll(EnrollRequest request, ServerCallContext context)
    {
        if (!gateway.TokenMatches(request.Token))
            throw Fail.Unauthenticated("bad join token");
        var name = InputRules.Name("cell", request.Name);
        return new EnrollResponse { Certificate = await identity.EnrollAsync(name, request.Csr) };
    }

    /// <summary>A guest's console carried from its cell to the monitor relay waiting for it (ConsoleTunnels).</summary>
    public override async Task ConsoleTunnel(IAsyncStreamReader<ConsoleTunnelRequest> requestStream, IServerStreamWriter<ConsoleTunnelResponse> responseStream, ServerCallContext context) =>
        await tunnels.ServeAsync(await AdmitAsync(context), requestStream, responseStream, context.CancellationToken);

    /// <summary>Where the live replica that opened a ticket is (a dead one's tickets died with it).</summary>
    private async Task<string> OwnerUrlAsync(Guid owner) =>
        (await registry.FindAsync(owner))?.GrpcUrl ?? throw Fail.NotFound("the replica that opened this ticket is gone");

    /// <summary>
    /// An enrolled cell's certificate over TLS (its name), else the join token (no name); another replica passing a cell's
    /// transfer on presents the replica key (no name).
    /// </summary>
    private async Task<string?> AdmitAsync(ServerCallContext context)
    {
        if (await replicas.AdmitsAsync(context))
            return null;
        if (identity.CertificatesRequired)
            return await identity.RequireCellAsync(context);
        return gateway.TokenMatches(context.RequestHeaders.GetValue(TokenHeader) ?? "") ? null : throw Fail.Unauthenticated("bad join token");
    }
}
