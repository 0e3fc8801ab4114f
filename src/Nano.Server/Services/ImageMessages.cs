using Google.Protobuf;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Images;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Image records as API messages (MediaImage and DiskImage share their field numbers).</summary>
public static class ImageMessages
{
    public static ImageSummary Summary(ImageRow i) => new()
    {
        Id = i.Id.ToString(), Name = i.Name, Description = i.Description, Size = i.Size, Tags = { i.Tags },
        CreateTime = NanoTime.Print(i.CreateTime), ModifyTime = NanoTime.Print(i.ModifyTime), Owner = i.Owner, Group = i.GroupName,
        Created = i.Created, Progress = i.Progress,
    };

    public static MediaImage Media(ImageRow i) => new()
    {
        Id = i.Id.ToString(), Name = i.Name, Owner = i.Owner, Group = i.GroupName, Description = i.Description, Tags = { i.Tags },
        Created = i.Created, Progress = i.Progress, CreateTime = NanoTime.Print(i.CreateTime), ModifyTime = NanoTime.Print(i.ModifyTime), Size = i.Size,
    };

    public static DiskImage Disk(ImageRow i) => DiskImage.Parser.ParseFrom(Media(i).ToByteString());

    public static string Kind(ImageKind kind) => kind switch
    {
        ImageKind.Media => ImageKinds.Media,
        ImageKind.Disk => ImageKinds.Disk,
        _ => throw Fail.Invalid("kind must be IMAGE_KIND_MEDIA or IMAGE_KIND_DISK"),
    };

    public static ImageContent Content(long size, string sha1, string sha256) => new() { Size = size, Sha1 = sha1, Sha256 = sha256 };
}
