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
        Assert.Equal(["connect", "disconnect", "connect"], events.Where(e => e != "credentialsrequired").Take(3));
        Assert.True(File.Exists(screenshot));
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
