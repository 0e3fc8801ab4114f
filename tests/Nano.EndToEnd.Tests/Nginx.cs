using System.Diagnostics;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// Debian's nginx in front of a nano up zone's replicas, configured by <c>tools/nano nginx-config</c> (its output included
/// as a system nginx includes /etc/nginx/conf.d/), listening on two free loopback ports; its access log names the
/// replica each request reached. Stopped when disposed.
/// </summary>
public sealed class Nginx : IAsyncDisposable
{
    private readonly WatchedProcess _process;
    private readonly string _folder;

    private Nginx(WatchedProcess process, string folder, int port, int grpcPort)
    {
        _process = process;
        _folder = folder;
        Port = port;
        GrpcPort = grpcPort;
    }

    /// <summary>The REST (and WebSocket) listener.</summary>
    public int Port { get; }

    public int GrpcPort { get; }

    public string AccessLog => File.Exists(Path.Combine(_folder, "access.log")) ? File.ReadAllText(Path.Combine(_folder, "access.log")) : "";

    /// <summary>For three replicas whose REST ports start at <paramref name="restPort"/> and gRPC ports at <paramref name="grpcPort"/>.</summary>
    public static async Task<Nginx> StartAsync(string dataDir, int restPort, int grpcPort)
    {
        Assert.True(File.Exists("/usr/sbin/nginx"), "nginx is not installed: run the suite through ./tools/test, which installs it");
        var folder = Path.Combine(Path.GetTempPath(), $"nano-nginx-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, (UnixFileMode)0b111_101_101); // its workers (nobody) use temp folders in it
        var (port, grpc) = (Nano.Testing.TestServer.FreePort(), Nano.Testing.TestServer.FreePort());

        var generate = new ProcessStartInfo(Path.Combine(Repository.Root, "tools", "nano"))
        {
            ArgumentList = { "nginx-config", "--replicas", "3", "--port", restPort.ToString(), "--grpc-port", grpcPort.ToString(), "--data-dir", dataDir,
                "--listen", $"127.0.0.1:{port}", "--grpc-listen", $"127.0.0.1:{grpc}" },
            RedirectStandardOutput = true,
        };
        using (var generator = Process.Start(generate)!)
        {
            File.WriteAllText(Path.Combine(folder, "nano.conf"), await generator.StandardOutput.ReadToEndAsync());
            await generator.WaitForExitAsync();
            Assert.Equal(0, generator.ExitCode);
        }
        File.WriteAllText(Path.Combine(folder, "nginx.conf"), $$"""
            worker_processes 1;
            pid {{folder}}/nginx.pid;
            error_log {{folder}}/error.log;
            events {}
            http {
                log_format nano '$request_method $uri $status $upstream_addr';
                access_log {{folder}}/access.log nano;
                include {{folder}}/nano.conf;
            }
            """);
        var info = new ProcessStartInfo("/usr/sbin/nginx") { ArgumentList = { "-p", folder, "-e", Path.Combine(folder, "error.log"), "-c", Path.Combine(folder, "nginx.conf"), "-g", "daemon off;" } };
        var nginx = new Nginx(new WatchedProcess(info, "nginx"), folder, port, grpc);
        await Nano.Testing.Wait.ForAsync(() => Task.FromResult(File.Exists(Path.Combine(folder, "nginx.pid")) || nginx._process.HasExited), TimeSpan.FromSeconds(30));
        Assert.False(nginx._process.HasExited, $"nginx did not start: {nginx._process.Output}{File.ReadAllText(Path.Combine(folder, "error.log"))}");
        return nginx;
    }

    /// <summary>The distinct replicas (upstream addresses) that answered requests whose log line starts with <paramref name="request"/>.</summary>
    public IReadOnlySet<string> Upstreams(string request) => AccessLog.Split('\n')
        .Where(l => l.StartsWith(request + " ", StringComparison.Ordinal))
        .Select(l => l.Split(' ')[^1])
        .ToHashSet();

    /// <summary>The first 12 bytes of a guest's console through the balancer's WebSocket relay at <paramref name="path"/>.</summary>
    public Task<string> ConsoleBannerAsync(string ca, string path) => ConsoleBanner.ReadAsync($"wss://127.0.0.1:{Port}{path}", ca);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Signal("QUIT");
            try
            {
                await _process.WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                _process.Kill();
            }
        }
        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
