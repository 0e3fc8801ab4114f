using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// The README's platform command, tools/nano up, as a user runs it: in a data folder made by mktemp -d (mode 0700), it
/// watches what it starts. A server that cannot start, or a cell that dies, stops everything with a non-zero exit that
/// names what died and its log; Ctrl-C stops everything. Either way no process of it is left.
/// </summary>
public sealed class NanoUpTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly string Root = Repository.Root;
    private readonly string _data = Directory.CreateTempSubdirectory("nano-up-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task APortAlreadyTaken_StopsNanoUp_NonZero_NamingTheServerAndItsLog_LeavingNoProcess()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0); // listens, never answers
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await using var up = NanoUp.Start(Root, _data, port, Nano.Testing.TestServer.FreePort(), cell: false);

        var code = await up.ExitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine(up.Output);
        Assert.NotEqual(0, code);
        Assert.Contains("nano-server exited", up.Output);
        Assert.Contains($"{_data}/logs/server.log", up.Output);
        Assert.Contains("address already in use", up.Output);
        Assert.DoesNotContain("Unhandled exception", up.Output); // a fault of the host, said in a line, not a crash
        Assert.Empty(ProcessesOf(_data));
    }

    /// <summary>--log-format json: everything the server writes is one JSON object per line (its start-up lines too); the metrics token is made 0600.</summary>
    [Fact]
    public async Task WithLogFormatJson_TheServerWritesOneJsonObjectPerLine()
    {
        await using (var up = NanoUp.Start(Root, _data, Nano.Testing.TestServer.FreePort(), Nano.Testing.TestServer.FreePort(), cell: false, "--log-format", "json"))
        {
            await up.WaitForAsync("nano-server ready", TimeSpan.FromMinutes(2));
            up.Interrupt();
            Assert.Equal(0, await up.ExitAsync(TimeSpan.FromMinutes(1)));
        }
        var lines = File.ReadAllLines(Path.Combine(_data, "logs", "server.log")).Where(l => l.Length > 0 && !l.StartsWith("[nano] ", StringComparison.Ordinal)).ToList();
        output.WriteLine(string.Join('\n', lines));
        Assert.True(lines.Count >= 2, "the server wrote almost nothing");
        foreach (var line in lines)
        {
            var entry = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
            Assert.True(entry.ContainsKey("Timestamp") && entry.ContainsKey("LogLevel") && entry.ContainsKey("Category") && entry.ContainsKey("Message"), line);
        }
        Assert.Contains(lines, l => l.Contains("\"Message\":\"nano-server ready: REST ", StringComparison.Ordinal));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_data, "metrics-token")));
    }

    [Fact]
    public async Task WhenTheCellDies_NanoUpStopsTheServerAndItsDatabase_AndCtrlCStopsEverything()
    {
        var (rest, grpc) = (Nano.Testing.TestServer.FreePort(), Nano.Testing.TestServer.FreePort());
        await using (var up = NanoUp.Start(Root, _data, rest, grpc, cell: true))
        {
            await up.WaitForAsync("Joined https://", TimeSpan.FromMinutes(2));
            var token = File.ReadAllText(Path.Combine(_data, "cell-token")).Trim();
            Assert.DoesNotContain(ProcessesOf(_data), p => p.CommandLine.Contains(token)); // not in ps for every local user to read
            var cell = Assert.Single(ProcessesOf(_data), p => p.CommandLine.Contains("nano-cell.dll"));
            Assert.Contains(ProcessesOf(_data), p => p.CommandLine.Contains("postgres"));
            Process.GetProcessById(cell.Pid).Kill();

            var code = await up.ExitAsync(TimeSpan.FromMinutes(1));
            output.WriteLine(up.Output);
            Assert.NotEqual(0, code);
            Assert.Contains("nano-cell exited", up.Output);
            Assert.Contains($"{_data}/logs/cell.log", up.Output);
            Assert.Empty(ProcessesOf(_data));
        }

        // Again on the same folder, stopped with Ctrl-C.
        await using (var up = NanoUp.Start(Root, _data, rest, grpc, cell: true))
        {
            await up.WaitForAsync("Joined https://", TimeSpan.FromMinutes(2));
            up.Interrupt();
            Assert.Equal(0, await up.ExitAsync(TimeSpan.FromMinutes(1)));
            output.WriteLine(up.Output);
            Assert.Empty(ProcessesOf(_data));
        }
    }

    /// <summary>
    /// Issue 16: nano up --replicas 3 runs three replicas on consecutive ports over one database, and the local cell is
    /// given all three. A session made on one serves on the others, a logout on one is refused on the next at once, the
    /// cell is listed alive by each. Behind nginx configured by <c>tools/nano nginx-config</c>, REST and gRPC requests spread
    /// over the three, a server stream, a 3 MiB upload and a console's WebSocket pass. A replica other than the first,
    /// killed, is reported and the others keep serving, through the balancer too.
    /// </summary>
    [Fact]
    public async Task WithThreeReplicas_EachServes_TheCellHasThemAll_AndOneKilledLeavesTheOthersServing()
    {
        var rest = ConsecutiveFreePorts(6);
        var grpc = rest + 3;
        await using var up = NanoUp.Start(Root, _data, rest, grpc, cell: true, "--replicas", "3");
        await up.WaitForAsync($"3 replicas serve the zone: REST ports {rest}..{rest + 2}, gRPC ports {grpc}..{grpc + 2}", TimeSpan.FromMinutes(3));
        await up.WaitForAsync("Joined https://", TimeSpan.FromMinutes(2));
        var agent = Assert.Single(ProcessesOf(_data), p => p.CommandLine.Contains("nano-cell.dll"));
        Assert.Contains($"https://127.0.0.1:{grpc},https://127.0.0.1:{grpc + 1},https://127.0.0.1:{grpc + 2}", agent.CommandLine);

        var ca = Path.Combine(_data, "tls", "ca.pem");
        var replicas = Enumerable.Range(0, 3).Select(i => Client(ca, rest + i)).ToList();
        var init = await replicas[0].PostAsync("/api/v1/system/", new { user = "admin", password = "Adm1nPassword", menu = Nano.Testing.InitializedServer.AllMenus });
        Assert.True(init.ErrorCode == 0, init.Text);
        var session = (await replicas[0].PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "" })).Data!["session"]!.GetValue<string>();
        foreach (var replica in replicas)
        {
            await Nano.Testing.Wait.ForAsync(async () =>
                (await replica.GetAsync("/api/v1/compute_pool_cells/", session)).Data?.AsArray().Any(c => c!["alive"]!.GetValue<bool>()) == true);
        }
        Assert.Equal(0, (await replicas[1].DeleteAsync($"/api/v1/sessions/{session}", null, session)).ErrorCode);
        Assert.NotEqual(0, (await replicas[2].GetAsync("/api/v1/users/", session)).ErrorCode);

        // Behind nginx, configured by tools/nano nginx-config for these ports: requests spread over the three replicas.
        await using var nginx = await Nginx.StartAsync(_data, rest, grpc);
        var balanced = Client(ca, nginx.Port);
        session = (await balanced.PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "" })).Data!["session"]!.GetValue<string>();
        for (var i = 0; i < 12; i++)
            Assert.Equal(0, (await balanced.GetAsync("/api/v1/users/", session)).ErrorCode);
        Assert.Equal(3, nginx.Upstreams("GET /api/v1/users/").Count);
        using (var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"https://127.0.0.1:{nginx.GrpcPort}", new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = TrustingZone(ca) }))
        {
            var users = new Nano.Contracts.V1.UserService.UserServiceClient(channel);
            for (var i = 0; i < 6; i++)
                Assert.Contains(users.ListUsers(new Nano.Contracts.V1.ListUsersRequest(), Nano.Testing.TestServer.Call(session)).Data, u => u == "admin");
            Assert.Equal(3, nginx.Upstreams("POST /nano.v1.UserService/ListUsers").Count);
            // A server stream through the balancer: the zone's status, its first message.
            using var watch = new Nano.Contracts.V1.ZoneService.ZoneServiceClient(channel).WatchZoneStatus(new Nano.Contracts.V1.WatchZoneStatusRequest(), Nano.Testing.TestServer.Call(session));
            Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        }
        // An upload larger than nginx's default body limit (1 MiB), streamed through.
        var image = (await balanced.PostAsync("/api/v1/disk_images/", new { name = "balanced" }, session)).Data!["id"]!.GetValue<string>();
        var qcow2 = Path.Combine(_data, "balanced.qcow2");
        foreach (var command in new[] { $"qemu-img create -q -f qcow2 {qcow2} 16M", $"qemu-io -f qcow2 -c \"write -P 0x42 0 3M\" {qcow2}" })
        {
            using var run = Process.Start("bash", ["-c", command]);
            await run.WaitForExitAsync();
            Assert.Equal(0, run.ExitCode);
        }
        var content = await File.ReadAllBytesAsync(qcow2);
        Assert.True(content.Length > 3 << 20);
        using (var body = new MemoryStream(content))
        {
            var uploaded = await balanced.UploadAsync($"/api/v1/disk_images/{image}/file/", body, Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(content)), session);
            Assert.True(uploaded.ErrorCode == 0, uploaded.Text);
        }
        Assert.Equal(content.Length, (await replicas[2].GetAsync($"/api/v1/disk_images/{image}", session)).Data!["size"]!.GetValue<long>());
        // A guest's console, its WebSocket upgraded through the balancer to whichever replica it reaches.
        var cell = (await balanced.GetAsync("/api/v1/compute_pool_cells/", session)).Data!.AsArray().Single()!["name"]!.GetValue<string>();
        Assert.Equal(0, (await balanced.PostAsync($"/api/v1/compute_pool_cells/default/{cell}", null, session)).ErrorCode);
        await Nano.Testing.Wait.ForAsync(async () => (await balanced.GetAsync($"/api/v1/compute_cell_status/default/{cell}", session)).Data!["available_memory"]!.GetValue<long>() > 0,
            TimeSpan.FromMinutes(1));
        var guest = await balanced.PostAsync("/api/v1/guests/",
            new { name = "balanced", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 64L << 20, disks = new[] { 256L << 20 }, auto_start = true }, session);
        Assert.True(guest.ErrorCode == 0, guest.Text);
        var id = guest.Data!["id"]!.GetValue<string>();
        await Nano.Testing.Wait.ForAsync(async () => (await balanced.GetAsync($"/api/v1/guests/{id}", session)).Data is System.Text.Json.Nodes.JsonObject g
            && g["created"]?.GetValue<bool>() == true && g["running"]?.GetValue<bool>() == true, TimeSpan.FromMinutes(1));
        var console = await balanced.PostAsync("/api/v1/monitor_channels/", new { guest = id }, session);
        Assert.True(console.ErrorCode == 0, console.Text);
        Assert.Equal("RFB 003.008\n", await nginx.ConsoleBannerAsync(ca, $"/api/v1/monitor_channels/{console.Data!["id"]}"));
        Assert.Equal(0, (await balanced.DeleteAsync($"/api/v1/instances/{id}", new { force = true }, session)).ErrorCode);
        Assert.Equal(0, (await balanced.DeleteAsync($"/api/v1/guests/{id}", null, session)).ErrorCode);

        var second = Assert.Single(ProcessesOf(_data), p => p.CommandLine.Contains("nano-server.dll") && p.CommandLine.Contains($"--Nano:RestPort={rest + 1} "));
        Process.GetProcessById(second.Pid).Kill();
        await up.WaitForAsync("nano-server-2 exited", TimeSpan.FromMinutes(1));
        var again = (await replicas[2].PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "" })).Data!["session"]!.GetValue<string>();
        Assert.Equal(0, (await replicas[2].GetAsync("/api/v1/users/", again)).ErrorCode);
        Assert.Equal(0, (await replicas[0].GetAsync("/api/v1/users/", again)).ErrorCode);
        // The balancer passes over the dead replica: every request is answered.
        for (var i = 0; i < 12; i++)
            Assert.Equal(0, (await balanced.GetAsync("/api/v1/users/", again)).ErrorCode);
        output.WriteLine(nginx.AccessLog);

        up.Interrupt();
        Assert.Equal(0, await up.ExitAsync(TimeSpan.FromMinutes(1)));
        output.WriteLine(up.Output);
        Assert.Empty(ProcessesOf(_data));
    }

    /// <summary>A REST client of a nano up replica (or its balancer) on <paramref name="port"/>, trusting the zone's CA only.</summary>
    private static Nano.Testing.RestClient Client(string ca, int port) =>
        new(new HttpClient(TrustingZone(ca)) { BaseAddress = new Uri($"https://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) });

    private static SocketsHttpHandler TrustingZone(string ca)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = Nano.Tls.ZoneCertificates.ServerCheck(ca);
        return handler;
    }

    /// <summary>The first of <paramref name="count"/> consecutive loopback ports nothing listens on now.</summary>
    private static int ConsecutiveFreePorts(int count)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var first = Random.Shared.Next(20000, 30000);
            var listeners = new List<TcpListener>();
            try
            {
                for (var i = 0; i < count; i++)
                {
                    var listener = new TcpListener(IPAddress.Loopback, first + i);
                    listener.Start();
                    listeners.Add(listener);
                }
                return first;
            }
            catch (SocketException)
            {
            }
            finally
            {
                foreach (var listener in listeners)
                    listener.Stop();
            }
        }
        throw new InvalidOperationException($"no {count} consecutive free ports");
    }

    /// <summary>
    /// Issue 14, backup and restore: a backup taken while the platform runs, restored into the stopped platform after a
    /// guest was created that the backup does not know. A damaged copy is refused before anything changes. Once the cell
    /// rejoins, that guest's domain and files are still there, listed as an unknown domain, until the administrator
    /// removes it; what the backup knew (an image and its content) is back.
    /// </summary>
    [Fact]
    public async Task ABackupTakenWhileRunning_RestoresIntoTheStoppedPlatform_AndAGuestItDidNotKnowIsKeptAndListed()
    {
        var (restPort, grpcPort) = (Nano.Testing.TestServer.FreePort(), Nano.Testing.TestServer.FreePort());
        var backup = Path.Combine(_data, "..", $"{Path.GetFileName(_data)}.backup.tar");
        var cell = Environment.MachineName;
        string after, image, admin;
        await using (var up = NanoUp.Start(Root, _data, restPort, grpcPort, cell: true))
        {
            await up.WaitForAsync("Joined https://", TimeSpan.FromMinutes(2));
            using var rest = Rest(restPort);
            Assert.Equal(0, (await rest.PostAsync("/api/v1/system/", new { user = "admin", password = "Adm1nPassword", menu = Nano.Testing.InitializedServer.AllMenus })).ErrorCode);
            admin = await LoginAsync(rest);
            Assert.Equal(0, (await rest.PostAsync($"/api/v1/compute_pool_cells/default/{cell}", null, admin)).ErrorCode);
            image = (await rest.PostAsync("/api/v1/disk_images/", new { name = "kept" }, admin)).Data!["id"]!.GetValue<string>();
            var qcow2 = Path.Combine(_data, "..", $"{Path.GetFileName(_data)}.qcow2");
            using (var made = Process.Start("qemu-img", ["create", "-q", "-f", "qcow2", qcow2, "16M"]))
                await made.WaitForExitAsync();
            await using (var content = File.OpenRead(qcow2))
            {
                var uploaded = await rest.UploadAsync($"/api/v1/disk_images/{image}/file/", content, null, admin);
                Assert.True(uploaded.ErrorCode == 0, uploaded.Text);
            }
            File.Delete(qcow2);

            Assert.Equal(0, await ToolAsync("backup", backup));
            after = (await rest.PostAsync("/api/v1/guests/", new { name = "after", pool = "default", template = "0qodbfbd15imbt3g0004", cores = 1, memory = 128L << 20, disks = new[] { 1L << 30 } }, admin))
                .Data!["id"]!.GetValue<string>();
            await Nano.Testing.Wait.ForAsync(async () => (await rest.GetAsync($"/api/v1/guests/{after}", admin)).Data?["created"]?.GetValue<bool>() == true, TimeSpan.FromMinutes(1));
            Assert.NotEqual(0, await ToolAsync("restore", backup)); // refused while the platform runs
            up.Interrupt();
            Assert.Equal(0, await up.ExitAsync(TimeSpan.FromMinutes(1)));
        }
        var volumes = Directory.GetFiles(Path.Combine(_data, "volumes"), $"{after}_*");
        Assert.NotEmpty(volumes);
        // A stopped platform is backed up too (its database is started for the dump, and stopped again).
        Assert.Equal(0, await ToolAsync("backup", backup + ".stopped"));
        Assert.Empty(ProcessesOf(_data));
        File.Delete(backup + ".stopped");

        // A damaged copy is refused, and changes nothing.
        var damaged = backup + ".damaged";
        var bytes = File.ReadAllBytes(backup);
        bytes[bytes.Length / 2] ^= 0xff;
        File.WriteAllBytes(damaged, bytes);
        Assert.NotEqual(0, await ToolAsync("restore", damaged));
        Assert.Empty(Directory.GetFileSystemEntries(_data, "*.before-restore-*"));

        Assert.Equal(0, await ToolAsync("restore", backup));
        await using (var up = NanoUp.Start(Root, _data, restPort, grpcPort, cell: true))
        {
            await up.WaitForAsync("Joined https://", TimeSpan.FromMinutes(2));
            using var rest = Rest(restPort);
            admin = await LoginAsync(rest);
            Assert.Equal(404, (await rest.GetAsync($"/api/v1/guests/{after}", admin)).ErrorCode); // the backup does not know it
            Assert.True((await rest.GetAsync($"/api/v1/disk_images/{image}", admin)).Data!["created"]!.GetValue<bool>());
            System.Text.Json.Nodes.JsonArray unknown = [];
            await Nano.Testing.Wait.ForAsync(async () => (unknown = (await rest.GetAsync("/api/v1/unknown_domains/", admin)).Data!.AsArray()).Count > 0, TimeSpan.FromMinutes(1));
            output.WriteLine(unknown.ToJsonString());
            Assert.Equal($"{cell}|{after}", $"{unknown.Single()!["cell"]}|{unknown.Single()!["guest"]}");
            Assert.All(volumes, v => Assert.True(File.Exists(v)));
            using (var libvirt = Nano.Libvirt.Connection.Open("qemu:///system"))
                Assert.NotNull(libvirt.FindDomain(after));

            Assert.Equal(0, (await rest.DeleteAsync($"/api/v1/unknown_domains/{cell}/{after}", null, admin)).ErrorCode);
            Assert.All(volumes, v => Assert.False(File.Exists(v)));
            using (var libvirt = Nano.Libvirt.Connection.Open("qemu:///system"))
                Assert.Null(libvirt.FindDomain(after));
            up.Interrupt();
            Assert.Equal(0, await up.ExitAsync(TimeSpan.FromMinutes(1)));
        }
        File.Delete(backup);
        File.Delete(damaged);
    }

    private Nano.Testing.RestClient Rest(int port)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = Nano.Tls.ZoneCertificates.ServerCheck(Path.Combine(_data, "tls", "ca.pem"));
        return new Nano.Testing.RestClient(new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}") });
    }

    private static async Task<string> LoginAsync(Nano.Testing.RestClient rest) =>
        (await rest.PostAsync("/api/v1/sessions/", new { user = "admin", password = "Adm1nPassword", nonce = "n" })).Data!["session"]!.GetValue<string>();

    /// <summary>tools/nano backup|restore FILE on this test's data folder; its exit code (its output goes to the test's).</summary>
    private async Task<int> ToolAsync(string command, string file)
    {
        var info = new ProcessStartInfo("bash") { WorkingDirectory = Root };
        foreach (var arg in new[] { "tools/nano", command, file, "--data-dir", _data })
            info.ArgumentList.Add(arg);
        using var tool = new WatchedProcess(info, $"nano {command}");
        var code = await tool.WaitForExitAsync(TimeSpan.FromMinutes(3));
        output.WriteLine($"$ tools/nano {command} {file} --data-dir {_data}  (exit {code})\n{tool.Output}");
        return code;
    }

    /// <summary>Processes whose command line names the folder (server, cell, PostgreSQL, log writers).</summary>
    private static List<(int Pid, string CommandLine)> ProcessesOf(string folder)
    {
        var found = new List<(int, string)>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(folder))
                    found.Add((pid, commandLine));
            }
            catch (IOException)
            {
            }
        }
        return found;
    }

    /// <summary>One run of tools/nano up (built already: --no-build), its output kept.</summary>
    private sealed class NanoUp(WatchedProcess process) : IAsyncDisposable
    {
        public string Output => process.Output;

        public static NanoUp Start(string root, string data, int rest, int grpc, bool cell, params string[] extra)
        {
            var info = new ProcessStartInfo("bash") { WorkingDirectory = root };
            foreach (var arg in new[] { "tools/nano", "up", "--data-dir", data, "--port", $"{rest}", "--grpc-port", $"{grpc}", "--no-build", "--ready-timeout", "90" })
                info.ArgumentList.Add(arg);
            if (!cell)
                info.ArgumentList.Add("--no-cell");
            foreach (var arg in extra)
                info.ArgumentList.Add(arg);
            info.Environment.Remove("NANO_DATABASE");
            return new NanoUp(new WatchedProcess(info, "nano up"));
        }

        public async Task WaitForAsync(string text, TimeSpan patience)
        {
            var waiting = process.WaitForOutputAsync(text, patience);
            while (!waiting.IsCompleted)
            {
                Assert.False(process.HasExited && !process.Output.Contains(text), $"nano up exited before '{text}':\n{Output}");
                await Task.WhenAny(waiting, Task.Delay(200));
            }
            await waiting;
        }

        public Task<int> ExitAsync(TimeSpan patience) => process.WaitForExitAsync(patience);

        /// <summary>What Ctrl-C sends.</summary>
        public void Interrupt() => process.Signal("INT");

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                Interrupt();
                await process.WaitForExitAsync(TimeSpan.FromMinutes(1)).ContinueWith(_ => { }, TaskScheduler.Default);
                if (!process.HasExited)
                    process.Kill();
            }
            process.Dispose();
        }
    }
}
