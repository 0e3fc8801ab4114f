using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nano.Testing;
using Xunit.Abstractions;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// What users reach for around the API, against a live platform with a running guest on real KVM: Prometheus scraping
/// /metrics, the console page in a browser, the command-line client, and the example clients in other languages.
/// </summary>
public sealed class ClientsOnKvmTests(RunningGuestZone zone, ITestOutputHelper output) : IClassFixture<RunningGuestZone>
{
    /// <summary>Debian's Prometheus scrapes the server over TLS with the metrics token; a query finds the running guest's CPU series.</summary>
    [Fact]
    public async Task Prometheus_ScrapesTheServer_AndAQueryFindsTheRunningGuestsCpu()
    {
        var folder = Directory.CreateDirectory(Path.Combine(zone.Work, $"prometheus-{Guid.NewGuid():N}")).FullName;
        var tokenFile = Path.Combine(folder, "metrics-token");
        await File.WriteAllTextAsync(tokenFile, RunningGuestZone.MetricsToken);
        var server = zone.Rest.Http.BaseAddress!;
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: nano
                scheme: {server.Scheme}
                tls_config:
                  ca_file: {zone.Zone.Server.CaFile}
                authorization:
                  credentials_file: {tokenFile}
                static_configs:
                  - targets: ['{server.Host}:{server.Port}']
            """);
        var port = TestServer.FreePort();
        var info = new ProcessStartInfo("prometheus");
        foreach (var arg in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(folder, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
            info.ArgumentList.Add(arg);
        using var prometheus = new WatchedProcess(info, "prometheus");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var query = $"nano_guest_cpu_usage_ratio{{guest=\"{zone.Guest}\"}}";
        JsonNode? answer = null;
        try
        {
            await Wait.ForAsync(async () =>
            {
                try
                {
                    answer = JsonNode.Parse(await http.GetStringAsync($"/api/v1/query?query={Uri.EscapeDataString(query)}"));
                    return answer!["data"]!["result"]!.AsArray().Count > 0;
                }
                catch (HttpRequestException)
                {
                    return false; // not listening yet
                }
            }, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(1));
            output.WriteLine($"query {query} answered:\n{answer!.ToJsonString(new JsonSerializerOptions { WriteIndented = true })}");
            var series = answer!["data"]!["result"]![0]!;
            Assert.Equal(("nano", "admin.shown", zone.Cell, "default"),
                (series["metric"]!["job"]!.GetValue<string>(), series["metric"]!["name"]!.GetValue<string>(), series["metric"]!["cell"]!.GetValue<string>(), series["metric"]!["pool"]!.GetValue<string>()));
            var value = double.Parse(series["value"]![1]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(value, 0, 1);

            var up = JsonNode.Parse(await http.GetStringAsync($"/api/v1/query?query={Uri.EscapeDataString($"nano_guest_running{{guest=\"{zone.Guest}\"}}")}"))!;
            Assert.Equal("1", up["data"]!["result"]![0]!["value"]![1]!.GetValue<string>());
            var targets = JsonNode.Parse(await http.GetStringAsync("/api/v1/targets"))!["data"]!["activeTargets"]![0]!;
            Assert.Equal("up", targets["health"]!.GetValue<string>());
        }
        finally
        {
            prometheus.Signal("TERM");
            await prometheus.WaitForExitAsync(TimeSpan.FromSeconds(30));
            output.WriteLine(prometheus.Output.Length > 4000 ? prometheus.Output[^4000..] : prometheus.Output);
        }
    }

    /// <summary>
    /// The console page in headless Chromium: it takes a monitor channel, logs noVNC in with the channel's password and
    /// shows the guest's screen (the canvas is drawn, not blank); the guest restarted under it (its VNC socket drops), it
    /// reconnects by itself with a fresh channel and shows the screen again.
    /// </summary>
    [Fact]
    public async Task TheConsolePage_ShowsTheGuestsScreen_AndReconnectsAfterTheSocketDrops()
    {
        var url = Nano.Server.Monitor.ConsolePage.Url(zone.Rest.Http.BaseAddress!.ToString(), zone.Guest, zone.Admin);
        var screenshot = Path.Combine(AppContext.BaseDirectory, "console-page.png");
        var marker = Path.Combine(zone.Work, $"restarted-{Guid.NewGuid():N}");
        using var page = BrowserScript.Start("console-page.js", url, screenshot, marker);
        await page.WaitForOutputAsync("{\"ready\":true}", TimeSpan.FromMinutes(3));
        Assert.Equal(0, (await zone.Rest.DeleteAsync($"/api/v1/instances/{zone.Guest}", new { force = true }, zone.Admin)).ErrorCode);
        Assert.Equal(0, (await zone.Rest.PostAsync($"/api/v1/instances/{zone.Guest}", new { }, zone.Admin)).ErrorCode);
        await File.WriteAllTextAsync(marker, "");
        var result = await BrowserScript.ResultAsync(output, page);

        Assert.False(result["fragmentKept"]!.GetValue<bool>()); // the session leaves the address bar at once
        foreach (var look in new[] { result["first"]!, result["after"]! })
        {
            Assert.True(look["width"]!.GetValue<int>() >= 640, look.ToJsonString());
            Assert.True(look["lit"]!.GetValue<double>() > 0.005 && look["colours"]!.GetValue<int>() >= 2, $"a blank screen: {look.ToJsonString()}");
        }
        Assert.True(result["connects"]!.GetValue<int>() >= 2);
        var events = result["events"]!.AsArray().Select(e => e!.GetValue<string>()).ToList();
        Assert.DoesNotContain("securityfailure", events);
        // Connected, dropped, then connected again; a retry may fail in between while the restarted guest's VNC is not
        // listening yet (a disconnect with no connect before it), which is the page doing its job.
        var seen = events.Where(e => e != "credentialsrequired").ToList();
        Assert.Equal(["connect", "disconnect"], seen.Take(2));
        Assert.Contains("connect", seen.Skip(2));
        Assert.Equal("connect", seen.Last());
        Assert.True(File.Exists(screenshot));
    }

    /// <summary>
    /// nanoctl as a person uses it, in a terminal (tmux: send-keys types, capture-pane reads): login asks for the password
    /// and keeps the session in a 0600 file; `guest create --wait` and `image upload` draw a progress bar that reaches
    /// 100 %; -o json parses; a refusal prints the server's reason and exits 1; `console` prints the console page's URL.
    /// </summary>
    [Fact]
    public async Task Nanoctl_InATerminal_ShowsProgressToTheEnd_AndAnswersAsJson()
    {
        var folder = Directory.CreateDirectory(Path.Combine(zone.Work, $"nanoctl-{Guid.NewGuid():N}")).FullName;
        var config = Path.Combine(folder, "session.json");
        var dll = Path.Combine(Repository.Root, "src", "Nano.Ctl", "bin", "Release", "net10.0", "nanoctl.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built: run the suite through ./tools/test, which builds the solution");
        using var terminal = new Tmux(new Dictionary<string, string> { ["NANOCTL_CONFIG"] = config, ["TERM"] = "xterm-256color" });
        terminal.Type($"nanoctl() {{ dotnet {dll} \"$@\"; }}");
        terminal.Type($"nanoctl login --server {zone.Zone.Server.GrpcUrl} --ca {zone.Zone.Server.CaFile} --user {InitializedServer.AdminName}");
        await terminal.WaitForAsync("Password:", TimeSpan.FromSeconds(60));
        terminal.Type(InitializedServer.AdminPassword);
        await terminal.WaitForAsync("logged in as admin", TimeSpan.FromSeconds(60));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(config));
        Assert.DoesNotContain(InitializedServer.AdminPassword, terminal.Screen()); // the prompt does not echo it

        terminal.Type("nanoctl guest create tmuxed --memory 128 --wait; printf 'created:[%s]\\n' $?");
        var created = await terminal.WaitForAsync(new System.Text.RegularExpressions.Regex(@"created:\[\d+\]"), TimeSpan.FromMinutes(3));
        output.WriteLine($"--- the terminal after guest create --wait ---\n{created}");
        Assert.Contains("created:[0]", created);
        Assert.Matches(@"creating tmuxed: succeeded\s+━+\s+100%", created);
        var id = created.Split('\n').Select(l => l.Trim()).First(l => Guid.TryParse(l, out _));

        var image = Path.Combine(folder, "tiny.qcow2");
        Assert.Equal(0, (await RunAsync("qemu-img", "create", "-q", "-f", "qcow2", image, "64M")).Code);
        terminal.Type($"nanoctl image upload {image} --name tmuxdisk; printf 'uploaded:[%s]\\n' $?");
        var uploaded = await terminal.WaitForAsync(new System.Text.RegularExpressions.Regex(@"uploaded:\[\d+\]"), TimeSpan.FromMinutes(2));
        output.WriteLine($"--- the terminal after image upload ---\n{uploaded}");
        Assert.Contains("uploaded:[0]", uploaded);
        Assert.Matches(@"uploading tiny\.qcow2\s+━+\s+100%", uploaded);

        async Task<(int Code, string Output)> Nanoctl(params string[] args)
        {
            var info = new ProcessStartInfo("dotnet") { Environment = { ["NANOCTL_CONFIG"] = config } };
            info.ArgumentList.Add(dll);
            foreach (var arg in args)
                info.ArgumentList.Add(arg);
            using var process = new WatchedProcess(info, "nanoctl");
            return (await process.WaitForExitAsync(TimeSpan.FromMinutes(2)), process.Output);
        }

        var (listed, list) = await Nanoctl("guest", "list", "-o", "json");
        Assert.Equal(0, listed);
        var guests = JsonNode.Parse(list)!.AsArray();
        Assert.Contains(guests, g => g!["id"]!.GetValue<string>() == id && g["name"]!.GetValue<string>() == "admin.tmuxed" && g["running"]!.GetValue<bool>() == false);
        var (shown, show) = await Nanoctl("guest", "show", id, "-o", "json");
        Assert.Equal((0, 128L << 20), (shown, JsonNode.Parse(show)!["memory"]!.GetValue<long>()));
        var (imaged, images) = await Nanoctl("image", "list", "-o", "json");
        Assert.Contains(JsonNode.Parse(images)!.AsArray(), i => i!["name"]!.GetValue<string>() == "tmuxdisk" && i["size"]!.GetValue<long>() > 0);
        Assert.Equal(0, imaged);
        var (opsCode, ops) = await Nanoctl("op", "list", "--target", id, "-o", "json");
        Assert.Equal((0, "succeeded"), (opsCode, JsonNode.Parse(ops)!.AsArray()[0]!["state"]!.GetValue<string>()));
        var creation = JsonNode.Parse(ops)!.AsArray()[0]!["id"]!.GetValue<string>();
        var (waited, ended) = await Nanoctl("op", "wait", creation, "-o", "json");
        Assert.Equal((0, "succeeded", 100), (waited, JsonNode.Parse(ended)!["state"]!.GetValue<string>(), JsonNode.Parse(ended)!["percent"]!.GetValue<int>()));
        terminal.Type($"nanoctl op watch {creation}; printf 'watched:[%s]\\n' $?");
        var watched = await terminal.WaitForAsync(new System.Text.RegularExpressions.Regex(@"watched:\[\d+\]"), TimeSpan.FromMinutes(1));
        Assert.Contains("watched:[0]", watched);
        Assert.Matches(@"operation: succeeded\s+━+\s+100%", watched);
        var (cancelled, refusal) = await Nanoctl("op", "cancel", creation);
        Assert.Equal(1, cancelled); // it has ended: nothing to cancel, and the server says so
        Assert.StartsWith("nanoctl: ", refusal);
        Assert.Equal(1, (await Nanoctl("op", "wait", Guid.NewGuid().ToString())).Code);

        Assert.Equal(0, (await Nanoctl("guest", "start", id)).Code);
        Assert.True((await zone.Rest.GetAsync($"/api/v1/guests/{id}", zone.Admin)).Data!["running"]!.GetValue<bool>());
        var (refused, why) = await Nanoctl("guest", "delete", id);
        Assert.Equal(1, refused);
        Assert.StartsWith("nanoctl: ", why);
        Assert.Equal(0, (await Nanoctl("guest", "stop", id, "--force")).Code);
        Assert.Equal(0, (await Nanoctl("guest", "delete", id)).Code);
        var (missing, notFound) = await Nanoctl("guest", "show", id);
        Assert.Equal(1, missing);
        Assert.Contains($"guest '{id}' not found", notFound);

        var (consoled, url) = await Nanoctl("console", zone.Guest);
        Assert.Equal(0, consoled);
        var session = JsonNode.Parse(await File.ReadAllTextAsync(config))!["Session"]!.GetValue<string>();
        Assert.Equal(Nano.Server.Monitor.ConsolePage.Url(zone.Rest.Http.BaseAddress!.ToString(), zone.Guest, session), url.Trim());

        // logout ends the session on the server and forgets it; a copy of the old file then meets the server's word.
        var stale = Path.Combine(folder, "stale.json");
        File.Copy(config, stale);
        Assert.Equal(0, (await Nanoctl("logout")).Code);
        Assert.False(File.Exists(config));
        var (notLoggedIn, notice) = await Nanoctl("pool", "list");
        Assert.Equal((1, "nanoctl: not logged in: nanoctl login --server URL --ca FILE --user NAME"), (notLoggedIn, notice.Trim()));
        File.Move(stale, config);
        var (gone, endedWhy) = await Nanoctl("pool", "list");
        Assert.Equal(1, gone);
        Assert.Contains("no such session", endedWhy);
        Assert.EndsWith("(nanoctl login)", endedWhy.Trim());
    }

    /// <summary>
    /// The example clients, from the code buf.gen.yaml generates (./tools/test runs buf generate and builds the C# one):
    /// Python (Debian's grpcio), Node (Connect's gRPC transport) and C# each log in, meet a typed error, create a guest and
    /// watch its operation to the end, and upload a disk image.
    /// </summary>
    [Theory]
    [InlineData("python")]
    [InlineData("node")]
    [InlineData("csharp")]
    public async Task TheExampleClients_LogInCreateAGuestWatchItAndUploadAnImage(string language)
    {
        var image = Path.Combine(zone.Work, $"{language}.qcow2");
        Assert.Equal(0, (await RunAsync("qemu-img", "create", "-q", "-f", "qcow2", image, "32M")).Code);
        var examples = Path.Combine(Repository.Root, "examples");
        var grpc = zone.Zone.Server.GrpcUrl;
        var ca = zone.Zone.Server.CaFile!;
        var name = $"{language}-example";
        var (file, args) = language switch
        {
            "python" => ("/usr/bin/python3", new[] { Path.Combine(examples, "python", "nano_example.py"), "--server", new Uri(grpc).Authority, "--ca", ca, "--user", "admin", "--name", name, "--image", image }),
            "node" => ("node", new[] { Path.Combine(examples, "node", "example.js"), "--server", grpc, "--ca", ca, "--user", "admin", "--name", name, "--image", image }),
            _ => ("dotnet", new[] { Path.Combine(examples, "csharp", "bin", "Release", "net10.0", "nano-example.dll"), grpc, ca, "admin", image }),
        };
        var info = new ProcessStartInfo(file) { Environment = { ["NANO_PASSWORD"] = InitializedServer.AdminPassword } };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var example = new WatchedProcess(info, $"{language} example");
        var code = await example.WaitForExitAsync(TimeSpan.FromMinutes(4));
        output.WriteLine($"--- the {language} example (exit {code}) ---\n{example.Output}");
        Assert.Equal(0, code);
        var lines = example.Output.Split('\n').Select(l => l.Trim()).ToList();
        Assert.Contains("logged in as admin, group admin", lines);
        Assert.Contains(language == "python" ? "as expected: NOT_FOUND guest 'no-such-guest' not found" : "as expected: NotFound guest 'no-such-guest' not found", lines);
        Assert.Matches(@"operation [0-9a-f-]+: succeeded 100%", example.Output);
        Assert.Matches(@"uploaded disk image [0-9a-f-]+: [1-9]\d* bytes, created=true", example.Output);
        Assert.Equal("done", lines.Last(l => l.Length > 0));
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = new WatchedProcess(info, file);
        return (await process.WaitForExitAsync(TimeSpan.FromMinutes(2)), process.Output);
    }

    /// <summary>nano-cell --log-format json: every line it printed is one JSON object with the logger's fields.</summary>
    [Fact]
    public void TheCell_LogsOneJsonObjectPerLine()
    {
        var lines = zone.Agent.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var entry = JsonNode.Parse(line)!.AsObject();
            Assert.True(entry.ContainsKey("Timestamp") && entry.ContainsKey("LogLevel") && entry.ContainsKey("Category") && entry.ContainsKey("Message"), line);
        }
        Assert.Contains(lines, l => l.Contains("\"Category\":\"Nano.Cell", StringComparison.Ordinal));
    }
}
