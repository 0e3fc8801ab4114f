using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Images;

namespace Nano.Server.Services;

/// <summary>Media images #68-#73 and B6; their content moves through <see cref="ImageFileService"/> and the REST transfer endpoints.</summary>
public sealed class MediaImageService(ImageCatalog catalog) : Contracts.V1.MediaImageService.MediaImageServiceBase
{
    private const string Kind = ImageKinds.Media;

    public override async Task<SyncMediaImagesResponse> SyncMediaImages(SyncMediaImagesRequest request, ServerCallContext context)
    {
        await catalog.SyncAsync(SessionInterceptor.SessionOf(context), Kind, request.Owner, request.Group, context.CancellationToken);
        return new SyncMediaImagesResponse();
    }

    public override async Task<ListMediaImagesResponse> ListMediaImages(ListMediaImagesRequest request, ServerCallContext context) =>
        new() { Data = { (await catalog.ListAsync(SessionInterceptor.SessionOf(context), Kind, [])).Select(ImageMessages.Summary) } };

    public override async Task<SearchMediaImagesResponse> SearchMediaImages(SearchMediaImagesRequest request, ServerCallContext context) =>
        new() { Data = { (await catalog.ListAsync(SessionInterceptor.SessionOf(context), Kind, [])).Select(ImageMessages.Summary) } };

    public override async Task<GetMediaImageResponse> GetMediaImage(GetMediaImageRequest request, ServerCallContext context) =>
        new() { Data = ImageMessages.Media(await catalog.FindToReadAsync(SessionInterceptor.SessionOf(context), Kind, request.Id)) };

    public override async Task<CreateMediaImageResponse> CreateMediaImage(CreateMediaImageRequest request, ServerCallContext context)
    {
        var fields = ImageCatalog.Fields(request.Name, request.Owner, request.Group, request.Description, request.Tags);
        var id = await catalog.CreateAsync(Kind, SessionInterceptor.SessionOf(context), fields);
        return new CreateMediaImageResponse { Data = new IdData { Id = id.ToString() } };
    }

    public override async Task<ModifyMediaImageResponse> ModifyMediaImage(ModifyMediaImageRequest request, ServerCallContext context)
    {
        var fields = ImageCatalog.Fields(request.Name, request.Owner, request.Group, request.Description, request.Tags);
        await catalog.ModifyAsync(SessionInterceptor.SessionOf(context), Kind, request.Id, fields);
        return new ModifyMediaImageResponse();
    }

    public override async Task<DeleteMediaImageResponse> DeleteMediaImage(DeleteMediaImageRequest request, ServerCallContext context)
    {
        await catalog.DeleteAsync(SessionInterceptor.SessionOf(context), Kind, request.Id);
        return new DeleteMediaImageResponse();
    }
}
