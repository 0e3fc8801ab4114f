using Dapper;
using System.Diagnostics;
using System.Net;
using Grpc.Core;
using Nano.Contracts.Cell.V1;
using Nano.Contracts.V1;
using Nano.Server.Tests.Infrastructure;
using Nano.Testing;
using Xunit.Abstractions;

namespace Nano.Server.Tests;

/// <summary>
/// GET /metrics: the zone in one scrape (cells, guests, operations, API requests, console connections), in Prometheus'
/// text formats, checked by Debian's promtool; readable with the metrics token or a dashboard session only.
/// </summary>
public sealed class MetricsTests(ZoneServer fixture, ITestOutputHelper output) : GuestTestBase(fixture)
{
    [Fact]
    public async Task TheScrape_CarriesTheZone_AndPassesPromtool()
    {
        var id = await CreateGuestAsync("metered");
        await WaitCreatedAsync(id);
        Assert.Equal(0, (await Rest.PostAsync($"/api/v1/instances/{id}", new { }, Admin)).ErrorCode);
        JsonAssert.Failure(404, await Rest.GetAsync("/api/v1/guests/00000000-0000-0000-0000-000000000000", Admin));
        await Assert.ThrowsAsync<RpcException>(() => new GuestService.GuestServiceClient(Zone.Server.Channel)
            .GetGuestAsync(new GetGuestRequest { Id = Guid.Empty.ToString() }, TestServer.Call(Admin)).ResponseAsync);
        await Agent.MetricsAsync(new MetricsSample
        {
            CpuUsage = 25, AvailableMemory = 16L << 30, MaxMemory = 32L << 30, AvailableDisk = 500L << 30, MaxDisk = 1L << 40,
            Guests = { new GuestMetrics { GuestId = id, CpuUsage = 42, Memory = 200L << 20, BytesRead = 1000, BytesWritten = 2000, BytesReceived = 3000, BytesSent = 4000 } },
        });
        var guest = $"guest=\"{id}\",name=\"admin.metered\",cell=\"cg_{Suffix}\",pool=\"{Pool}\"";
        string text = "";
        await Wait.ForAsync(async () => (text = await ScrapeAsync(openMetrics: false)).Contains($"nano_guest_cpu_usage_ratio{{{guest}}} 0.42"));

        Assert.Contains($"nano_cell_up{{cell=\"cg_{Suffix}\",pool=\"{Pool}\"}} 1\n", text);
        Assert.Contains($"nano_cell_cores{{cell=\"cg_{Suffix}\",pool=\"{Pool}\"}} 8\n", text);
        Assert.Contains($"nano_cell_cpu_usage_ratio{{cell=\"cg_{Suffix}\",pool=\"{Pool}\"}} 0.25\n", text);
        Assert.Contains($"nano_cell_memory_available_bytes{{cell=\"cg_{Suffix}\",pool=\"{Pool}\"}} {16L << 30}\n", text);
        Assert.Contains($"nano_guest_running{{{guest}}} 1\n", text);
        Assert.Contains($"nano_guest_memory_used_bytes{{{guest}}} {200L << 20}\n", text);
        Assert.Contains($"nano_guest_disk_read_bytes_total{{{guest}}} 1000\n", text);
        Assert.Contains($"nano_guest_network_sent_bytes_total{{{guest}}} 4000\n", text);
        Assert.Matches("nano_operations\\{kind=\"[a-z_]+\",state=\"succeeded\"\\} [1-9]", text);
        Assert.Matches("nano_operation_duration_seconds_bucket\\{kind=\"[a-z_]+\",le=\"\\+Inf\"\\} [1-9]", text);
        Assert.Contains("nano_api_requests_total{protocol=\"rest\",route=\"/api/v1/guests/{id}\",method=\"GET\",code=\"404\"}", text);
        Assert.Contains("nano_api_requests_total{protocol=\"grpc\",route=\"/nano.v1.GuestService/GetGuest\",method=\"POST\",code=\"NOT_FOUND\"}", text);
        Assert.Contains("nano_api_request_duration_seconds_bucket{protocol=\"rest\",route=\"/api/v1/instances/{id}\",method=\"POST\",le=\"+Inf\"}", text);
        Assert.Contains("# TYPE nano_console_connections gauge\nnano_console_connections 0\n", text);

        var (code, lint) = await PromtoolAsync(text);
        Assert.True(code == 0 && lint.Length == 0, $"promtool check metrics: exit {code}\n{lint}");
        var families = text.Split('\n').Count(line => line.StartsWith("# TYPE ", StringComparison.Ordinal));
        var samples = text.Split('\n').Count(line => line.Length > 0 && !line.StartsWith('#'));
        output.WriteLine($"promtool check metrics: exit {code}, nothing printed; the scrape: {families} metric families, {samples} samples");

        var open = await ScrapeAsync(openMetrics: true);
        Assert.EndsWith("# EOF\n", open);
        Assert.Contains("# TYPE nano_guest_disk_read_bytes counter\n# UNIT nano_guest_disk_read_bytes bytes\n", open);
        Assert.Contains($"nano_guest_disk_read_bytes_total{{{guest}}} 1000\n", open);
    }

    /// <summary>
    /// The operations' figures, read the way the scrape reads them (finished operations summed once, past a margin, here
    /// 1 s): counts by kind and state and durations against the bounds stay exact from read to read while operations
    /// finish between reads and pass the margin; none is counted twice or lost.
    /// </summary>
    [Fact]
    public async Task OperationFigures_CountEachOperationOnce_AsOperationsFinishAndAreSummed()
    {
        await using var db = Npgsql.NpgsqlDataSource.Create(Zone.Server.Database);
        var totals = new Nano.Server.Metrics.OperationTotals(new Nano.Server.Data.MetricsRepository(db), TimeSpan.FromSeconds(1));
        var kind = $"probe_{Suffix}";
        var late = Guid.NewGuid();
        await using (var c = await db.OpenConnectionAsync())
        {
            await c.ExecuteAsync("""
                INSERT INTO operations (id, kind, created_by, state, created_at, finished_at) VALUES
                    (gen_random_uuid(), @kind, 'admin', 'succeeded', now() - interval '0.5 s', now()),
                    (gen_random_uuid(), @kind, 'admin', 'failed', now() - interval '10 s', now()),
                    (@late, @kind, 'admin', 'running', now() - interval '100 s', NULL)
                """, new { kind, late });
        }

        async Task<string> ReadAsync()
        {
            var (counts, durations) = await totals.ReadAsync();
            var mine = durations.Where(d => d.Kind == kind).ToList();
            return string.Join("; ", counts.Where(c => c.Kind == kind).Select(c => $"{c.State}={c.Count}")) + " | " +
                   string.Join("; ", mine.Select(d => $"count={d.Count} le=[{string.Join(",", d.AtMost)}] seconds={Math.Floor(d.Seconds)}"));
        }

        const string twoFinished = "failed=1; running=1; succeeded=1 | count=2 le=[1,1,2,2,2,2,2,2,2,2] seconds=10";
        Assert.Equal(twoFinished, await ReadAsync());
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(twoFinished, await ReadAsync()); // the two are now summed, and not counted again
        Assert.Equal(twoFinished, await ReadAsync());

        await using (var c = await db.OpenConnectionAsync())
            Assert.Equal(1, await c.ExecuteAsync("UPDATE operations SET state = 'succeeded', finished_at = now() WHERE id = @late AND finished_at IS NULL", new { late }));
        var read = await ReadAsync();
        Assert.Matches(@"^failed=1; succeeded=2 \| count=3 le=\[1,1,2,2,2,3,3,3,3,3\] seconds=1[01][0-9]$", read); // 100 s and the wait: le 120
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Equal(read, await ReadAsync());
        Assert.Equal(read, await ReadAsync());
        output.WriteLine(read);
    }

    [Fact]
    public async Task OnlyTheMetricsToken_OrADashboardSession_ReadsTheMetrics()
    {
        await using var server = await TestServer.StartAsync(settings: new Dictionary<string, string?> { ["Nano:MetricsToken"] = "scrape-me" });
        var admin = await server.FirstRunAsync("dashboard", "user");
        Assert.Equal(0, (await server.Rest.PostAsync("/api/v1/roles/viewer", new { menu = new[] { "log" } }, admin)).ErrorCode);
        Assert.Equal(0, (await server.Rest.PostAsync("/api/v1/user_groups/viewers", new { display = "v", role = new[] { "viewer" } }, admin)).ErrorCode);
        Assert.Equal(0, (await server.Rest.PostAsync("/api/v1/users/viewer", new { password = "Passw0rdOk" }, admin)).ErrorCode);
        Assert.Equal(0, (await server.Rest.PostAsync("/api/v1/user_groups/viewers/members/viewer", null, admin)).ErrorCode);
        var viewer = (await server.Rest.PostAsync("/api/v1/sessions/", new { user = "viewer", password = "Passw0rdOk", nonce = "" })).Data!["session"]!.GetValue<string>();

        async Task<HttpStatusCode> StatusAsync(string? bearer, string? session)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            if (bearer is not null)
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
            if (session is not null)
                request.Headers.Add("Nano-Session", session);
            using var response = await server.Rest.Http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(null, null));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync("scrape-you", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync("", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(null, "not-a-session"));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(null, viewer));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync("scrape-me", null));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(null, admin));
    }

    private async Task<string> ScrapeAsync(bool openMetrics)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Add("Nano-Session", Admin);
        if (openMetrics)
            request.Headers.Accept.ParseAdd("application/openmetrics-text; version=1.0.0");
        using var response = await Rest.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(openMetrics ? "application/openmetrics-text" : "text/plain", response.Content.Headers.ContentType!.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Debian's promtool (package prometheus, which ./tools/test installs) on the scrape: its exit code and what it printed.</summary>
    private static async Task<(int Code, string Output)> PromtoolAsync(string text)
    {
        var info = new ProcessStartInfo("promtool", ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var promtool = Process.Start(info)!;
        await promtool.StandardInput.WriteAsync(text);
        promtool.StandardInput.Close();
        var output = promtool.StandardOutput.ReadToEndAsync();
        var errors = promtool.StandardError.ReadToEndAsync();
        await promtool.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (promtool.ExitCode, (await output + await errors).Trim());
    }
}
