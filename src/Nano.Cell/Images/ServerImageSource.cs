using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Images;

/// <summary>
/// The image transfers of the agent's gRPC connection (FetchImage, PushImage), authenticated by the join token, with the
/// server replica the agent holds its stream to now (<paramref name="server"/>).
/// </summary>
public sealed class ServerImageSource(Func<CellAgentService.CellAgentServiceClient> server, string token) : IImageSource
{
    private const int ChunkSize = 1 << 20;

    private Metadata Headers => new() { { "nano-cell-token", token } };

    public Task FetchAsync(CachedImage image, long offset, Func<ReadOnlyMemory<byte>, ValueTask> write, CancellationToken cancellationToken) =>
        FetchAsync(new FetchImageRequest { ImageId = image.Id, Sha256 = image.Sha256, Offset = offset }, write, cancellationToken);

    public Task FetchStagedAsync(string ticket, long offset, Func<ReadOnlyMemory<byte>, ValueTask> write, CancellationToken cancellationToken) =>
        FetchAsync(new FetchImageRequest { Ticket = ticket, Offset = offset }, write, cancellationToken);

    private async Task FetchAsync(FetchImageRequest request, Func<ReadOnlyMemory<byte>, ValueTask> write, CancellationToken cancellationToken)
    {
        using var call = server().FetchImage(request, Headers, cancellationToken: cancellationToken);
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
            await write(chunk.Chunk.Memory);
    }

    public async Task PushAsync(string ticket, string path, Action<long> sent, CancellationToken cancellationToken)
    {
        using var call = server().PushImage(Headers, cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new PushImageRequest { Ticket = ticket }, cancellationToken);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            long total = 0;
            int read;
            while ((read = await file.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, cancellationToken)) > 0)
            {
                await call.RequestStream.WriteAsync(new PushImageRequest { Chunk = ByteString.CopyFrom(buffer, 0, read) }, cancellationToken);
                total += read;
                sent(total);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        await call.RequestStream.CompleteAsync();
        await call;
    }
}
