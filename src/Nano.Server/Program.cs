using Nano.Server.Hosting;

// nano-server: REST on Nano:RestPort (5870), gRPC on Nano:GrpcPort (5871); see README.md.
await NanoApp.Build(args).RunAsync();
