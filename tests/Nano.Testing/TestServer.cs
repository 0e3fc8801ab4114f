using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Nano.Server.Hosting;

namespace Nano.Testing;

/// <summary>The real nano-server on two free loopback ports, with a REST client and a gRPC channel.</summary>
public sealed class TestServer : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;

    private TestServer(WebApplication app, string database, int restPort, int grpcPort, string? tlsFolder, string dataDir)
    {
        _app = app;
        Database = database;
        DataDir = dataDir;
        CaFile = tlsFolder is null ? null : Path.Combine(tlsFolder, ServerTls.AuthorityFile);
        var scheme = CaFile is null ? "http" : "https";
        Rest = new RestClient(new HttpClient(Handler()) { BaseAddress = new Uri($"{scheme}://127.0.0.1:{restPort}"), Timeout = Deadline });
        GrpcUrl = $"{scheme}://127.0.0.1:{grpcPort}";
        Channel = GrpcChannel.ForAddress(GrpcUrl, new GrpcChannelOptions { HttpHandler = Handler() });
        RestPort = restPort;
        GrpcPort = grpcPort;
    }

    /// <summary>The zone CA's PEM file when the server serves TLS (Nano:TlsFolder was given), else null.</summary>
    public string? CaFile { get; }

    /// <summary>The gRPC listener's URL, http:// or https://.</summary>
    public string GrpcUrl { get; }

    /// <summary>A client handler that trusts the zone's CA only (when the server serves TLS).</summary>
    public SocketsHttpHandler Handler()
    {
        var handler = new SocketsHttpHandler();
        if (CaFile is not null)
            handler.SslOptions.RemoteCertificateValidationCallback = Nano.Tls.ZoneCertificates.ServerCheck(CaFile);
        return handler;
    }

    public string Database { get; }

    /// <summary>The server's data folder (the key its stored secrets are sealed with is there: a restart keeps it).</summary>
    public string DataDir { get; }

    public RestClient Rest { get; }

    public GrpcChannel Channel { get; }

    public int RestPort { get; }

    public int GrpcPort { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a server on a new database, or on <paramref name="database"/> to reuse one; on free ports unless given.</summary>
    public static async Task<TestServer> StartAsync(
        string? database = null, IReadOnlyDictionary<string, string?>? settings = null, (int RestPort, int GrpcPort)? ports = null)
    {
        database ??= await TestDatabase.CreateAsync();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(database, settings, ports);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException && ports is null && attempt < 5)
            {
                // A free port was taken by another test's server between the look and the bind: other free ports.
            }
        }
    }

    private static async Task<TestServer> StartOnceAsync(string database, IReadOnlyDictionary<string, string?>? settings, (int RestPort, int GrpcPort)? ports)
    {
        var restPort = ports?.RestPort ?? FreePort();
        var grpcPort = ports?.GrpcPort ?? FreePort();
        var all = new Dictionary<string, string?>
        {
            ["Nano:Database"] = database,
            ["Nano:Address"] = "127.0.0.1",
            ["Nano:RestPort"] = restPort.ToString(),
            ["Nano:GrpcPort"] = grpcPort.ToString(),
            ["Nano:DataDir"] = Path.Combine(Path.GetTempPath(), $"nano-test-data-{Guid.NewGuid():N}"),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            all[key] = value;
        var app = NanoApp.Build([], all);
        try
        {
            await app.StartAsync().WaitAsync(Deadline);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new TestServer(app, database, restPort, grpcPort, all.GetValueOrDefault("Nano:TlsFolder"), all["Nano:DataDir"]!);
    }

    /// <summary>The first run, as "admin" with <paramref name="menus"/>; returns the administrator's session.</summary>
    public async Task<string> FirstRunAsync(params string[] menus)
    {
        var init = await Rest.PostAsync("/api/v1/system/", new { user = InitializedServer.AdminName, password = InitializedServer.AdminPassword, menu = menus });
        Assert.True(init.ErrorCode == 0, init.Text);
        var login = await Rest.PostAsync("/api/v1/sessions/", new { user = InitializedServer.AdminName, password = InitializedServer.AdminPassword, nonce = "test" });
        Assert.True(login.ErrorCode == 0, login.Text);
        return login.Data!["session"]!.GetValue<string>();
    }

    /// <summary>gRPC call options carrying a session and a deadline.</summary>
    public static CallOptions Call(string? session = null) =>
        new(session is null ? [] : new Metadata { { "nano-session", session } }, DateTime.UtcNow + Deadline);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        Rest.Dispose();
        await _app.StopAsync().WaitAsync(Deadline);
        await _app.DisposeAsync();
    }

    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
