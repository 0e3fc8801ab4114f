using Nano.Server.Hosting;

// nano-server: REST on Nano:RestPort (5870), gRPC on Nano:GrpcPort (5871); see README.md.
var app = NanoApp.Build(args);
try
{
    await app.StartAsync();
}
catch (Exception e) when (e is IOException or InvalidOperationException or Npgsql.NpgsqlException)
{
    // A port taken, a database that does not start: a fault of the host, said in one line, not a crash with a stack trace.
    // What did start (the embedded cluster) is stopped before the process ends.
    Console.Error.WriteLine($"nano-server could not start: {e.Message}");
    using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(30));
    await app.StopAsync(stopping.Token).ContinueWith(_ => { }, TaskScheduler.Default);
    return 1;
}
await app.WaitForShutdownAsync();
return 0;
