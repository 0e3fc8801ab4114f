using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Images;

namespace Nano.Server.Services;

/// <summary>Disk images #76-#80 and B7: empty records for an upload, or clones of a stopped guest's system disk (an operation).</summary>
public sealed class DiskImageService(ImageCatalog catalog, ImageCloning cloning) : Contracts.V1.DiskImageService.DiskImageServiceBase
{
    private const string Kind = ImageKinds.Disk;

    public override async Task<SyncDiskImagesResponse> SyncDiskImages(SyncDiskImagesRequest request, ServerCallContext context)
    {
        await catalog.SyncAsync(SessionInterceptor.SessionOf(context), Kind, request.Owner, request.Group, context.CancellationToken);
        return new SyncDiskImagesResponse();
    }

    public override async Task<SearchDiskImagesResponse> SearchDiskImages(SearchDiskImagesRequest request, ServerCallContext context)
    {
        // Transcoding fills repeated query parameters (?tags=a&tags=b) into the request.
        var tags = request.Tags.Where(t => t.Length > 0).ToArray();
        return new() { Data = { (await catalog.ListAsync(SessionInterceptor.SessionOf(context), Kind, tags)).Select(ImageMessages.Summary) } };
    }

    /// <summary>REST 202 while the image has no content yet (A10: being cloned, or awaiting its upload).</summary>
    public override async Task<GetDiskImageResponse> GetDiskImage(GetDiskImageRequest request, ServerCallContext context)
    {
        var image = await catalog.FindToReadAsync(SessionInterceptor.SessionOf(context), Kind, request.Id);
        if (!image.Created)
            RestStatus.Set(context, StatusCodes.Status202Accepted);
        return new GetDiskImageResponse { Data = ImageMessages.Disk(image) };
    }

    /// <summary>With <c>guest</c>: a clone of its system disk, built by an operation (REST 202). Without: an empty record awaiting an upload.</summary>
    public override async Task<CreateDiskImageResponse> CreateDiskImage(CreateDiskImageRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var fields = ImageCatalog.Fields(request.Name, request.Owner, request.Group, request.Description, request.Tags);
        Guid id;
        if (string.IsNullOrEmpty(request.Guest))
            id = await catalog.CreateAsync(Kind, session, fields);
        else
        {
            id = await cloning.StartAsync(session, fields, request.Guest);
            RestStatus.Set(context, StatusCodes.Status202Accepted);
        }
        return new CreateDiskImageResponse { Data = new IdData { Id = id.ToString() } };
    }

    public override async Task<ModifyDiskImageResponse> ModifyDiskImage(ModifyDiskImageRequest request, ServerCallContext context)
    {
        var fields = ImageCatalog.Fields(request.Name, request.Owner, request.Group, request.Description, request.Tags);
        await catalog.ModifyAsync(SessionInterceptor.SessionOf(context), Kind, request.Id, fields);
        return new ModifyDiskImageResponse();
    }

    public override async Task<DeleteDiskImageResponse> DeleteDiskImage(DeleteDiskImageRequest request, ServerCallContext context)
    {
        await catalog.DeleteAsync(SessionInterceptor.SessionOf(context), Kind, request.Id);
        return new DeleteDiskImageResponse();
    }
}
