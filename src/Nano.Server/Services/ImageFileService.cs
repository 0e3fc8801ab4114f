using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Images;

namespace Nano.Server.Services;

/// <summary>Streamed image content over gRPC: the same writes and reads as the REST transfer endpoints.</summary>
public sealed class ImageFileService(ImageCatalog catalog, ImageStore store) : Contracts.V1.ImageFileService.ImageFileServiceBase
{
    public override async Task<UploadImageResponse> UploadImage(IAsyncStreamReader<UploadImageRequest> requestStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct) || requestStream.Current.PartCase != UploadImageRequest.PartOneofCase.Target)
            throw Fail.Invalid("the first message of an upload names its target");
        var target = requestStream.Current.Target;
        var staged = await catalog.UploadAsync(SessionInterceptor.SessionOf(context), ImageMessages.Kind(target.Kind), target.Id, async () =>
        {
            var content = await store.StageAsync(async write =>
            {
                while (await requestStream.MoveNext(ct))
                {
                    if (requestStream.Current.PartCase != UploadImageRequest.PartOneofCase.Chunk)
                        throw Fail.Invalid("after the target an upload carries chunks only");
                    await write(requestStream.Current.Chunk.Memory);
                }
            }, ct);
            return (content, target.Checksum);
        });
        return new UploadImageResponse { Data = ImageMessages.Content(staged.Size, staged.Sha1, staged.Sha256) };
    }

    public override async Task DownloadImage(DownloadImageRequest request, IServerStreamWriter<DownloadImageResponse> responseStream, ServerCallContext context)
    {
        var (image, path) = await catalog.OpenAsync(SessionInterceptor.SessionOf(context), ImageMessages.Kind(request.Kind), request.Id);
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        if (request.Offset < 0 || request.Offset > file.Length)
            throw Fail.Invalid($"offset {request.Offset} is outside the content (0-{file.Length})");
        file.Position = request.Offset;
        var first = new DownloadImageResponse { Content = ImageMessages.Content(file.Length, image.Sha1, image.Sha256), Offset = request.Offset };
        await foreach (var (offset, chunk) in ReadChunksAsync(file, context.CancellationToken))
        {
            var message = first ?? new DownloadImageResponse { Offset = offset };
            message.Chunk = chunk;
            first = null;
            await responseStream.WriteAsync(message, context.CancellationToken);
        }
        if (first is not null)
            await responseStream.WriteAsync(first, context.CancellationToken);
    }

    /// <summary>A file's bytes from its position, in store-sized chunks.</summary>
    public static async IAsyncEnumerable<(long Offset, ByteString Chunk)> ReadChunksAsync(
        FileStream file, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ImageStore.ChunkSize);
        try
        {
            while (true)
            {
                var offset = file.Position;
                var read = await file.ReadAtLeastAsync(buffer.AsMemory(0, ImageStore.ChunkSize), ImageStore.ChunkSize, throwOnEndOfStream: false, cancellationToken);
                if (read == 0)
                    yield break;
                yield return (offset, ByteString.CopyFrom(buffer, 0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
