using System.Net.Http.Json;
using Grpc.Net.Client;
using Nano.Contracts.V1;
using Nano.Server.Hosting;
using Nano.Testing;
using Nano.Tls;

namespace Nano.Server.Tests;

/// <summary>
/// Security, transport (issue 13, item 4): with a TLS folder both listeners serve TLS under a certificate of the zone's
/// own CA, which clients check; nothing is served in clear there; and the server refuses to listen beyond loopback in
/// clear unless told it is on a trusted network. (Agents over TLS, and one that distrusts the server: CellOnKvmTests.)
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TransportSecurityTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), $"nano-tls-{Guid.NewGuid():N}");

    [Fact]
    public async Task WithATlsFolder_RestAndGrpc_AreServedOverTlsOnly_UnderTheZonesCa()
    {
        var folder = NewFolder();
        await using var server = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:TlsFolder"] = folder });

        // Made on first start: the zone CA and the server's certificate, keys readable by the server's user only.
        foreach (var key in new[] { "ca.key", "server.key" })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(folder, key)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));

        Assert.StartsWith("https://", server.Rest.Http.BaseAddress!.ToString());
        Assert.Equal(0, (await server.Rest.GetAsync("/api/v1/system/")).ErrorCode);
        var status = await new SystemService.SystemServiceClient(server.Channel).GetSystemStatusAsync(new GetSystemStatusRequest(), TestServer.Call());
        Assert.False(status.Data.Ready);

        using var clear = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => clear.GetAsync($"http://127.0.0.1:{server.RestPort}/api/v1/system/"));

        // A client trusting another CA does not accept the server.
        var other = NewFolder();
        Directory.CreateDirectory(other);
        using (var authority = ZoneCertificates.CreateAuthority("another zone"))
            ZoneCertificates.Write(authority, Path.Combine(other, "ca.pem"), Path.Combine(other, "ca.key"));
        var distrusting = new SocketsHttpHandler();
        distrusting.SslOptions.RemoteCertificateValidationCallback = ZoneCertificates.ServerCheck(Path.Combine(other, "ca.pem"));
        using var wary = new HttpClient(distrusting) { Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => wary.GetAsync($"https://127.0.0.1:{server.RestPort}/api/v1/system/"));
        using var waryChannel = GrpcChannel.ForAddress(server.GrpcUrl, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = ZoneCertificates.ServerCheck(Path.Combine(other, "ca.pem")) } } });
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
            await new SystemService.SystemServiceClient(waryChannel).GetSystemStatusAsync(new GetSystemStatusRequest(), TestServer.Call()));
    }

    [Fact]
    public async Task ARestart_KeepsTheZonesCaAndCertificate()
    {
        var folder = NewFolder();
        await (await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:TlsFolder"] = folder })).DisposeAsync();
        var before = File.ReadAllText(Path.Combine(folder, "ca.pem")) + File.ReadAllText(Path.Combine(folder, "server.pem"));
        await using var again = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:TlsFolder"] = folder });
        Assert.Equal(before, File.ReadAllText(Path.Combine(folder, "ca.pem")) + File.ReadAllText(Path.Combine(folder, "server.pem")));
        Assert.Equal(0, (await again.Rest.GetAsync("/api/v1/system/")).ErrorCode);
    }

    /// <summary>
    /// Replicas given one data folder and started at once (tools/nano up --replicas, or a service manager) find no CA
    /// there: one of them makes it, and every one serves a certificate that CA signed, so cells trusting ca.pem trust
    /// them all; no file is left half-written, and ca.key is the key of ca.pem.
    /// </summary>
    [Fact]
    public async Task ServersStartingAtOnce_OnAFreshTlsFolder_MakeOneCa_AndServeOneCertificateItSigned()
    {
        const int servers = 6;
        for (var round = 0; round < 10; round++)
        {
            var options = new NanoOptions { TlsFolder = NewFolder() };
            using var start = new Barrier(servers);
            var loaded = await Task.WhenAll(Enumerable.Range(0, servers).Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return ServerTls.Load(options, System.Net.IPAddress.Loopback)!;
            }, TaskCreationOptions.LongRunning)));

            using var authority = ServerTls.LoadAuthority(options)!; // reads ca.pem with ca.key: throws if they do not match
            Assert.Single(loaded.Select(certificate => certificate.Thumbprint).Distinct());
            Assert.All(loaded, certificate => Assert.True(ZoneCertificates.ChainsTo(certificate, authority), $"round {round}: a certificate not signed by ca.pem"));
            Assert.Equal(["ca.key", "ca.pem", "server.key", "server.pem"],
                Directory.GetFiles(options.TlsFolder).Select(Path.GetFileName).Where(name => !name!.StartsWith('.')).Order());
            foreach (var certificate in loaded)
                certificate.Dispose();
        }
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("*")]
    [InlineData("192.0.2.10")]
    public async Task ListeningBeyondLoopbackInClear_IsRefused_UnlessSaidToBeTrusted(string address)
    {
        Dictionary<string, string?> Settings(params (string Key, string Value)[] extra)
        {
            var settings = new Dictionary<string, string?> { ["Nano:Address"] = address, ["Nano:Database"] = "Host=/nonexistent" };
            foreach (var (key, value) in extra)
                settings[key] = value;
            return settings;
        }

        var refused = Assert.Throws<InvalidOperationException>(() => NanoApp.Build([], Settings()));
        Assert.Contains("Nano:Insecure", refused.Message);
        // Built only, never started: nothing listens beyond loopback here.
        await NanoApp.Build([], Settings(("Nano:Insecure", "true"))).DisposeAsync();
        await NanoApp.Build([], Settings(("Nano:TlsFolder", NewFolder()))).DisposeAsync();
    }
}
