using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Nano.Server.Cells;
using Nano.Server.Cells.Events;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Http;
using Nano.Server.Images;
using Nano.Server.Metrics;
using Nano.Server.Monitor;
using Nano.Server.Replicas;
using Nano.Server.Services;
using Npgsql;

namespace Nano.Server.Hosting;

/// <summary>Builds nano-server: REST (JSON transcoding) and gRPC listeners, PostgreSQL, the services.</summary>
public static class NanoApp
{
    public static WebApplication Build(string[] args, IReadOnlyDictionary<string, string?>? settings = null)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args });
        if (settings is not null)
            builder.Configuration.AddInMemoryCollection(settings);
        builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--log-format"] = "Logging:Console:FormatterName" });
        // --log-format json: one JSON object per line (UTC timestamps), for a log collector; the default is plain text.
        if (JsonLogs(builder.Configuration))
            builder.Logging.AddJsonConsole(o => (o.UseUtcTimestamp, o.TimestampFormat) = (true, "yyyy-MM-ddTHH:mm:ss.fffZ"));
        builder.Services.AddOptions<NanoOptions>()
            .Bind(builder.Configuration.GetSection(NanoOptions.Section))
            .PostConfigure(o =>
            {
                if (string.IsNullOrWhiteSpace(o.Database))
                    o.Database = Environment.GetEnvironmentVariable("NANO_DATABASE") ?? "";
            })
            .Validate(o => o.SessionTimeoutSeconds > 0, "Nano:SessionTimeoutSeconds must be positive");

        var listen = builder.Configuration.GetSection(NanoOptions.Section).Get<NanoOptions>() ?? new NanoOptions();
        var address = ParseAddress(listen.Address);
        var certificate = ServerTls.Load(listen, address);
        if (certificate is null && !IPAddress.IsLoopback(address) && !listen.Insecure)
            throw new InvalidOperationException(
                $"refusing to listen on {listen.Address} without TLS: sessions, passwords and the join token would cross the network in clear. " +
                "Give Nano:TlsFolder (nano up does), or Nano:Insecure=true (nano up --insecure) on a network you trust");
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, listen.RestPort, l => Secure(l, HttpProtocols.Http1, certificate));
            kestrel.Listen(address, listen.GrpcPort, l => Secure(l, HttpProtocols.Http2, certificate, clientCertificates: true));
            // Image uploads and cell pushes stream megabytes: larger HTTP/2 windows keep them from waiting on window updates.
            kestrel.Limits.Http2.InitialConnectionWindowSize = 16 << 20;
            kestrel.Limits.Http2.InitialStreamWindowSize = 8 << 20;
        });

        builder.Services.AddSingleton<DatabaseEndpoint>();
        builder.Services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<DatabaseEndpoint>().ConnectionString));
        builder.Services.AddSingleton<SchemaMigrator>();
        builder.Services.AddHostedService<DatabaseStartup>();
        builder.Services.AddHostedService<DatabaseWatch>();
        builder.Services.AddSingleton<ReplicaIdentity>();
        builder.Services.AddSingleton<ReplicaRepository>();
        builder.Services.AddHostedService<ReplicaMembership>();
        builder.Services.AddSingleton<Leadership>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Leadership>());
        builder.Services.AddHostedService<ReplicaRecovery>();
        builder.Services.AddSingleton<ReplicaSignals>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ReplicaSignals>());
        builder.Services.AddSingleton<ReplicaClients>();
        builder.Services.AddSingleton<SessionCache>();
        builder.Services.AddSingleton<ReadCache>();
        builder.Services.AddHostedService<SessionSweeper>();
        builder.Services.AddSingleton<RoleRepository>();
        builder.Services.AddSingleton<UserGroupRepository>();
        builder.Services.AddSingleton<UserRepository>();
        builder.Services.AddSingleton<SessionRepository>();
        builder.Services.AddSingleton<LogRepository>();
        builder.Services.AddSingleton<SystemRepository>();
        builder.Services.AddSingleton<SessionInterceptor>();
        builder.Services.AddSingleton<FaultInterceptor>();
        builder.Services.AddSingleton(sp => GuestLimits.From(sp.GetRequiredService<IOptions<NanoOptions>>().Value));
        builder.Services.AddSingleton<StoragePoolRepository>();
        builder.Services.AddSingleton<AddressPoolRepository>();
        builder.Services.AddSingleton<AddressAllocations>();
        builder.Services.AddSingleton<ComputePoolRepository>();
        builder.Services.AddSingleton<CellRepository>();
        builder.Services.AddSingleton<GuestRepository>();
        builder.Services.AddSingleton<UnknownDomainRepository>();
        builder.Services.AddSingleton<TemplateRepository>();
        builder.Services.AddSingleton<OperationRepository>();
        builder.Services.AddSingleton<MigrationRepository>();
        builder.Services.AddSingleton<OperationFeed>();
        builder.Services.AddSingleton<Operations>();
        builder.Services.AddSingleton<GuestAccess>();
        builder.Services.AddSingleton<FirstRunToken>();
        builder.Services.AddSingleton<CellIdentity>();
        builder.Services.AddSingleton<SecretSeal>();
        builder.Services.AddSingleton<LoginFailureRepository>();
        builder.Services.AddSingleton<LoginLimiter>();
        builder.Services.AddSingleton<GuestCreation>();
        builder.Services.AddSingleton<GuestLifecycle>();
        builder.Services.AddSingleton<GuestChanges>();
        builder.Services.AddSingleton<MonitorChannelRepository>();
        builder.Services.AddSingleton<SnapshotRepository>();
        builder.Services.AddSingleton<Snapshots>();
        builder.Services.AddSingleton<PoolMembership>();
        builder.Services.AddSingleton<PoolCpu>();
        builder.Services.AddSingleton<ServerClock>();
        builder.Services.AddSingleton<CellStatusFeed>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CellStatusFeed>());
        builder.Services.AddSingleton<CellGateway>();
        builder.Services.AddSingleton<CellCommands>();
        builder.Services.AddSingleton<ConsoleTunnels>();
        builder.Services.AddSingleton<HelloReceived>();
        builder.Services.AddSingleton<CellJoined>();
        builder.Services.AddSingleton<CellReports>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CellReports>());
        builder.Services.AddSingleton<HeartbeatReceived>();
        builder.Services.AddSingleton<MetricsReceived>();
        builder.Services.AddSingleton<DomainChanged>();
        builder.Services.AddSingleton<CellDeparting>();
        builder.Services.AddSingleton<CellLeft>();
        builder.Services.AddHostedService<CellFellSilent>();
        builder.Services.AddHostedService<FailoverWatch>();
        builder.Services.AddSingleton<ImageRepository>();
        builder.Services.AddSingleton<ImageStore>();
        builder.Services.AddSingleton<ImageCatalog>();
        builder.Services.AddSingleton<ImageCloning>();
        builder.Services.AddSingleton<ImageExports>();
        builder.Services.AddSingleton<SecurityPolicyRepository>();
        builder.Services.AddSingleton<SecurityPolicies>();
        builder.Services.AddSingleton<BatchRepository>();
        builder.Services.AddSingleton<Batches>();
        builder.Services.AddSingleton<GuestSettings>();
        builder.Services.AddSingleton<Migrations>();
        builder.Services.AddSingleton<Failover>();
        builder.Services.AddSingleton<GuestRecovery>();
        builder.Services.AddSingleton<UnknownDomains>();
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddSingleton<MetricsRepository>();
        builder.Services.AddSingleton<OperationTotals>();
        builder.Services.AddSingleton<ZoneMetrics>();

        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<FaultInterceptor>();
            o.Interceptors.Add<SessionInterceptor>();
        }).AddJsonTranscoding();
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks().AddCheck<DatabaseHealthCheck>("database");

        var app = builder.Build();
        app.UseMiddleware<RequestTiming>();
        app.UseWebSockets();
        app.UseMiddleware<EnvelopeMiddleware>();
        app.UseMiddleware<GrpcRequestCheck>();
        app.MapGet(MonitorRelay.Route, MonitorRelay.HandleAsync);
        ImageTransfers.Map(app);
        OpenApiDocument.Map(app);
        ZoneMetrics.Map(app);
        ConsolePage.Map(app);
        MapServices(app);
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var o = app.Services.GetRequiredService<IOptions<NanoOptions>>().Value;
            var scheme = certificate is null ? "http" : "https";
            Announce(app.Configuration, $"nano-server ready: REST {scheme}://{o.Address}:{o.RestPort}/api/v1  gRPC {scheme}://{o.Address}:{o.GrpcPort}");
            _ = PrintFirstRunTokenAsync(app.Services, app.Configuration);
        });
        return app;
    }

    /// <summary>While no user exists, how to take the first run from another host: with this start's one-time token.</summary>
    private static async Task PrintFirstRunTokenAsync(IServiceProvider services, IConfiguration configuration)
    {
        try
        {
            if (!await services.GetRequiredService<UserRepository>().AnyAsync())
                Announce(configuration, $"nano-server first run: open the portal on this host, or send header {FirstRunToken.Header}: " +
                                  $"{services.GetRequiredService<FirstRunToken>().Value} from another host");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            Announce(configuration, $"nano-server: could not tell whether the first run is done ({e.Message})");
        }
    }

    /// <summary>
    /// A line the server always prints (whatever the log levels): as it is, or with --log-format json as one JSON object
    /// with the fields of the JSON log lines around it.
    /// </summary>
    private static void Announce(IConfiguration configuration, string line)
    {
        if (!JsonLogs(configuration))
        {
            Console.WriteLine(line);
            return;
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("Timestamp", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteNumber("EventId", 0);
            json.WriteString("LogLevel", "Information");
            json.WriteString("Category", "Nano.Server");
            json.WriteString("Message", line);
            json.WriteEndObject();
        }
        Console.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>--log-format json (Logging:Console:FormatterName): one JSON object per line.</summary>
    private static bool JsonLogs(IConfiguration configuration) =>
        string.Equals(configuration["Logging:Console:FormatterName"], "json", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every public service (each of its RPCs is built: a contract test checks none answers UNIMPLEMENTED).</summary>
    private static void MapServices(WebApplication app)
    {
        app.MapGrpcService<SystemService>();
        app.MapGrpcService<SessionService>();
        app.MapGrpcService<RoleService>();
        app.MapGrpcService<UserGroupService>();
        app.MapGrpcService<UserService>();
        app.MapGrpcService<ResourceVisibilityService>();
        app.MapGrpcService<LogService>();
        app.MapGrpcService<ComputePoolService>();
        app.MapGrpcService<StoragePoolService>();
        app.MapGrpcService<StatusService>();
        app.MapGrpcService<AddressPoolService>();
        app.MapGrpcService<GuestService>();
        app.MapGrpcService<InstanceService>();
        app.MapGrpcService<SnapshotService>();
        app.MapGrpcService<MonitorChannelService>();
        app.MapGrpcService<MediaImageService>();
        app.MapGrpcService<DiskImageService>();
        app.MapGrpcService<ImageFileService>();
        app.MapGrpcService<TemplateService>();
        app.MapGrpcService<SecurityPolicyGroupService>();
        app.MapGrpcService<MigrationService>();
        app.MapGrpcService<BatchService>();
        app.MapGrpcService<ZoneService>();
        app.MapGrpcService<OperationService>();
        app.MapGrpcService<CellAgentEndpoint>();
        app.MapGrpcService<ReplicaEndpoint>();
    }

    /// <summary>A listener for <paramref name="protocols"/>, over TLS when there is a certificate (ALPN picks the protocol).</summary>
    /// <remarks>
    /// With <paramref name="clientCertificates"/> a client may present a certificate (cells do); the TLS layer takes any,
    /// and the agents' service checks it against the zone's CA (<see cref="CellIdentity"/>). Other clients present none.
    /// </remarks>
    private static void Secure(ListenOptions listener, HttpProtocols protocols, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate,
        bool clientCertificates = false)
    {
        listener.Protocols = protocols;
        if (certificate is null)
            return;
        listener.UseHttps(https =>
        {
            https.ServerCertificate = certificate;
            if (clientCertificates)
            {
                https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate;
                https.ClientCertificateValidation = (_, _, _) => true;
            }
        });
    }

    private static IPAddress ParseAddress(string address) => address switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "" => IPAddress.Any,
        _ => IPAddress.Parse(address),
    };
}
