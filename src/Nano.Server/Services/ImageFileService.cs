using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Images;
using Nano.Server.Domain.Rules;

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
            var content = await store.StageAsync(async (write, token) =>
            {
                while (await requestStream.MoveNext(token))
                {
                    if (requestStream.Current.PartCase != UploadImageRequest.PartOneofCase.Chunk)
                        throw Fail.Invalid("after the target an upload carries chunks only");
                    await write(requestStream.Current.Chunk.Memory);
                }
            }, ct, maxBytes: store.MaxUploadBytes);
            return (content, target.Checksum);
        });
        return new UploadImageResponse { Data = ImageMessages.Content(staged.Size, staged.Sha1, staged.Sha256) };
    }

    public override async Task DownloadImage(DownloadImageRequest request, IServerStreamWriter<DownloadImageResponse> responseStream, ServerCallContext context)
    {
        var (image, path) = await catalog.OpenAsync(SessionInterceptor.SessionOf(context), ImageMessages.Kind(request.Kind), request.Id);
        await using var file = ImageStore.OpenAt(path, request.Offset);
        var first = new DownloadImageResponse { Content = ImageMessages.Content(file.Length, image.Sha1, image.Sha256), Offset = request.Offset };
        await foreach (var (offset, chunk) in ImageStore.ReadChunksAsync(file, context.CancellationToken))
        {
            var message = first ?? new DownloadImageResponse { Offset = offset };
            message.Chunk = chunk;
            first = null;
            await responseStream.WriteAsync(message, context.CancellationToken);
        }
        if (first is not null)
            await responseStream.WriteAsync(first, context.CancellationToken);
    }
}
