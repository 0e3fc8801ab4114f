// A C# client of Nano.Grpc over gRPC, from buf-generated code: log in, create a guest and watch its creation to the end,
// upload a disk image.
//   tools/node_modules/.bin/buf generate && dotnet build examples/csharp -c Release
//   NANO_PASSWORD=... dotnet examples/csharp/bin/Release/net10.0/nano-example.dll https://127.0.0.1:5871 .nano/tls/ca.pem admin some.qcow2
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Nano.Contracts.V1;

if (args.Length < 4)
{
    Console.Error.WriteLine("usage: nano-example SERVER CA_FILE USER QCOW2_FILE   (password in NANO_PASSWORD)");
    return 2;
}
var (server, caFile, user, imageFile) = (args[0], args[1], args[2], args[3]);

// TLS trusting the zone's CA only.
var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caFile));
var handler = new SocketsHttpHandler();
handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
{
    using var chain = new X509Chain();
    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
    chain.ChainPolicy.CustomTrustStore.Add(ca);
    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
    return certificate is not null && chain.Build(new X509Certificate2(certificate));
};
using var channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions { HttpHandler = handler });

var login = await new SessionService.SessionServiceClient(channel).CreateSessionAsync(
    new CreateSessionRequest { User = user, Password = Environment.GetEnvironmentVariable("NANO_PASSWORD") ?? "", Nonce = "csharp" });
var session = new Metadata { { "nano-session", login.Data.Session } };
Console.WriteLine($"logged in as {user}, group {login.Data.Group}");

var guests = new GuestService.GuestServiceClient(channel);
try
{
    await guests.GetGuestAsync(new GetGuestRequest { Id = "no-such-guest" }, session);
}
catch (RpcException e)
{
    Console.WriteLine($"as expected: {e.StatusCode} {e.Status.Detail}");
}

var create = new CreateGuestRequest { Name = "cs-example", Pool = "default", Template = "0qodbfbd15imbt3g0004", Cores = 1, Memory = 128L << 20 };
create.Disks.Add(1L << 30);
var guest = (await guests.CreateGuestAsync(create, session)).Data.Id;
Console.WriteLine($"guest {guest} accepted");
var operations = new OperationService.OperationServiceClient(channel);
var operation = (await operations.ListOperationsAsync(new ListOperationsRequest { Target = guest }, session)).Data[0].Id;
Operation? last = null;
using (var watch = operations.WatchOperation(new WatchOperationRequest { Id = operation }, session))
{
    while (await watch.ResponseStream.MoveNext(CancellationToken.None))
    {
        last = watch.ResponseStream.Current.Data;
        Console.WriteLine($"operation {operation}: {last.State} {last.Percent}% {last.Stage}");
        if (last.Finished)
            break;
    }
}
if (last?.State != "succeeded")
{
    Console.Error.WriteLine($"creation ended {last?.State}: {last?.Error}");
    return 1;
}

var images = new DiskImageService.DiskImageServiceClient(channel);
var image = (await images.CreateDiskImageAsync(new CreateDiskImageRequest { Name = "cs-example-disk" }, session)).Data.Id;
using (var upload = new ImageFileService.ImageFileServiceClient(channel).UploadImage(session))
{
    await upload.RequestStream.WriteAsync(new UploadImageRequest { Target = new ImageUploadTarget { Kind = ImageKind.Disk, Id = image } });
    await using var file = File.OpenRead(imageFile);
    var buffer = new byte[1 << 20];
    int read;
    while ((read = await file.ReadAsync(buffer)) > 0)
        await upload.RequestStream.WriteAsync(new UploadImageRequest { Chunk = ByteString.CopyFrom(buffer, 0, read) });
    await upload.RequestStream.CompleteAsync();
    await upload;
}
var uploaded = (await images.GetDiskImageAsync(new GetDiskImageRequest { Id = image }, session)).Data;
Console.WriteLine($"uploaded disk image {image}: {uploaded.Size} bytes, created={uploaded.Created.ToString().ToLowerInvariant()}");
Console.WriteLine("done");
return 0;
