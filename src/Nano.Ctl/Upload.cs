using Google.Protobuf;
using Nano.Contracts.V1;
using Spectre.Console;

namespace Nano.Ctl;

/// <summary>An image upload: the image's record first, then its file streamed in 1 MiB messages with a progress bar by bytes sent.</summary>
public static class Upload
{
    private const int Chunk = 1 << 20;

    public static async Task<string> CreateAsync(Connection connection, string name, bool media, CancellationToken cancel) => media
        ? (await new MediaImageService.MediaImageServiceClient(connection.Channel).CreateMediaImageAsync(new CreateMediaImageRequest { Name = name }, connection.Call(cancel))).Data.Id
        : (await new DiskImageService.DiskImageServiceClient(connection.Channel).CreateDiskImageAsync(new CreateDiskImageRequest { Name = name }, connection.Call(cancel))).Data.Id;

    public static async Task SendAsync(Connection connection, FileInfo source, string id, bool media, CancellationToken cancel)
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape($"uploading {source.Name}"), maxValue: Math.Max(1, source.Length));
                using var call = new ImageFileService.ImageFileServiceClient(connection.Channel).UploadImage(connection.Call(cancel));
                await call.RequestStream.WriteAsync(new UploadImageRequest
                {
                    Target = new ImageUploadTarget { Kind = media ? ImageKind.Media : ImageKind.Disk, Id = id },
                }, cancel);
                await using var file = source.OpenRead();
                var buffer = new byte[Chunk];
                int read;
                while ((read = await file.ReadAsync(buffer, cancel)) > 0)
                {
                    await call.RequestStream.WriteAsync(new UploadImageRequest { Chunk = ByteString.CopyFrom(buffer, 0, read) }, cancel);
                    task.Increment(read);
                }
                await call.RequestStream.CompleteAsync();
                await call;
                task.Value = task.MaxValue;
                task.StopTask();
            });
    }
}
