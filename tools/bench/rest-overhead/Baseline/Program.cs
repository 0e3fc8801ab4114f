using Microsoft.AspNetCore.Server.Kestrel.Core;

// Serves GET /api/v1/users/ with the exact bytes nano-server answered (read from the file in args[1]),
// over HTTP/1.1 on 127.0.0.1:args[0]: what the REST overhead of nano-server is measured against.
var port = int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
var body = await File.ReadAllBytesAsync(args[1]);
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http1));
var app = builder.Build();
app.MapGet("/api/v1/users/", () => Results.Bytes(body, "application/json; charset=utf-8"));
await app.RunAsync();
