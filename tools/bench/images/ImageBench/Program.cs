using System.Buffers;
using System.Diagnostics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Nano.Contracts.V1;

// image-bench upload <grpc address> <session> <disk|media> <image id> <file>
// Streams <file> in 1 MiB chunks through UploadImage and prints "<bytes> <milliseconds>".
const int CHUNK = 1 << 20;
if (args is not ["upload", var address, var session, var kind, var id, var path])
{
    Console.Error.WriteLine("usage: image-bench upload <grpc address> <session> <disk|media> <image id> <file>");
    return 2;
}
using var channel = GrpcChannel.ForAddress(address);
var client = new ImageFileService.ImageFileServiceClient(channel);
var clock = Stopwatch.StartNew();
using var call = client.UploadImage(new Metadata { { "nano-session", session } });
await call.RequestStream.WriteAsync(new UploadImageRequest
{
    Target = new ImageUploadTarget { Kind = kind == "media" ? ImageKind.Media : ImageKind.Disk, Id = id },
});
await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
var buffer = ArrayPool<byte>.Shared.Rent(CHUNK);
int read;
while ((read = await file.ReadAtLeastAsync(buffer.AsMemory(0, CHUNK), CHUNK, throwOnEndOfStream: false)) > 0)
    await call.RequestStream.WriteAsync(new UploadImageRequest { Chunk = ByteString.CopyFrom(buffer, 0, read) });
await call.RequestStream.CompleteAsync();
var stored = (await call).Data;
Console.WriteLine($"{stored.Size} {clock.ElapsedMilliseconds}");
return 0;
