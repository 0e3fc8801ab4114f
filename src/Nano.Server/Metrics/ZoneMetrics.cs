using Grpc.Core;
using Microsoft.Extensions.Options;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;

namespace Nano.Server.Metrics;

/// <summary>
/// GET /metrics on the REST port: one scrape for the whole zone, in the OpenMetrics text format when the scraper asks for
/// it (Prometheus does), else Prometheus' classic text format. Cells and guests come from their latest reports in the
/// database, operations from their rows (<see cref="OperationTotals"/>), API requests and console connections from this process. Readable with the
/// metrics token (Authorization: Bearer, Nano:MetricsToken) or a session whose roles carry the dashboard menu.
/// </summary>
public sealed class ZoneMetrics(CellRepository cells, MetricsRepository rows, OperationTotals operations, ServerMetrics server, SessionInterceptor sessions, IOptions<NanoOptions> options)
{
    public const string Route = "/metrics";

    /// <summary>Seconds: the operation duration histogram's bounds (a start takes seconds, a creation from an image minutes).</summary>
    public static readonly double[] DurationBounds = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

    public static void Map(WebApplication app) => app.MapGet(Route, (HttpContext http, ZoneMetrics metrics) => metrics.ScrapeAsync(http));

    private async Task ScrapeAsync(HttpContext http)
    {
        if (await RefusalAsync(http) is { } refused)
        {
            http.Response.StatusCode = refused.Status;
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await http.Response.WriteAsync(refused.Message + "\n");
            return;
        }
        var text = new MetricsText(http.Request.Headers.Accept.ToString().Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase));
        try
        {
            await WriteAsync(text);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await http.Response.WriteAsync("database unavailable\n");
            return;
        }
        http.Response.ContentType = text.ContentType;
        await http.Response.WriteAsync(text.ToString());
    }

    /// <summary>Why the request may not read the metrics (401, 403), or null.</summary>
    private async Task<(int Status, string Message)?> RefusalAsync(HttpContext http)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return Secrets.Matches(authorization["Bearer ".Length..].Trim(), options.Value.MetricsToken) ? null : (401, "the metrics token is wrong");
        try
        {
            var session = await sessions.AuthenticateAsync(http.Request.Headers[SessionInterceptor.Header].ToString());
            return session.Menu.Contains("dashboard", StringComparer.Ordinal) ? null : (403, $"user '{session.User}' may not read metrics: its roles lack the 'dashboard' menu");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
        {
            return (401, "metrics need the metrics token (Authorization: Bearer) or a session (Nano-Session) with the dashboard menu");
        }
    }

    private async Task WriteAsync(MetricsText text)
    {
        var cellRows = await cells.ListAsync(null);
        var guestRows = await rows.GuestsAsync();
        var (operationCounts, durations) = await operations.ReadAsync();

        static (string, string)[] Cell(CellRow c) => [("cell", c.Name), ("pool", c.Pool ?? "")];
        foreach (var (name, help, value) in new (string, string, Func<CellRow, double>)[]
                 {
                     ("nano_cell_up", "1 while the cell's agent is connected and heard from within the liveness timeout.", c => c.Alive ? 1 : 0),
                     ("nano_cell_cores", "Logical CPUs of the cell's host.", c => c.Cores),
                     ("nano_cell_cpu_usage_ratio", "CPU busy share of the cell's host (0 to 1) at its latest report.", c => c.CpuUsage / 100),
                     ("nano_cell_memory_bytes", "Memory of the cell's host.", c => c.MaxMemory),
                     ("nano_cell_memory_available_bytes", "Memory of the cell's host available to guests at its latest report.", c => c.AvailableMemory),
                     ("nano_cell_disk_bytes", "Guest storage of the cell.", c => c.MaxDisk),
                     ("nano_cell_disk_available_bytes", "Guest storage of the cell still free at its latest report.", c => c.AvailableDisk),
                 })
            Each(text, name, MetricType.Gauge, help, cellRows, Cell, value);

        static (string, string)[] Guest(GuestRow g) => [("guest", g.Id.ToString()), ("name", g.Name), ("cell", g.Cell ?? ""), ("pool", g.Pool)];
        foreach (var (name, type, help, value) in new (string, MetricType, string, Func<GuestRow, double>)[]
                 {
                     ("nano_guest_running", MetricType.Gauge, "1 while the guest runs.", g => g.Running ? 1 : 0),
                     ("nano_guest_cores", MetricType.Gauge, "vCPUs of the guest.", g => g.Cores),
                     ("nano_guest_cpu_usage_ratio", MetricType.Gauge, "Busy share of the guest's vCPUs (0 to 1) at its cell's latest report.", g => g.CpuUsage / 100),
                     ("nano_guest_memory_bytes", MetricType.Gauge, "Memory given to the guest.", g => g.Memory),
                     ("nano_guest_memory_used_bytes", MetricType.Gauge, "Memory the guest uses at its cell's latest report.", g => g.MemoryUsed),
                     ("nano_guest_disk_read_bytes", MetricType.Counter, "Bytes the guest read from its disks since its domain started.", g => g.BytesRead),
                     ("nano_guest_disk_written_bytes", MetricType.Counter, "Bytes the guest wrote to its disks since its domain started.", g => g.BytesWritten),
                     ("nano_guest_network_received_bytes", MetricType.Counter, "Bytes the guest's network interfaces received since its domain started.", g => g.BytesReceived),
                     ("nano_guest_network_sent_bytes", MetricType.Counter, "Bytes the guest's network interfaces sent since its domain started.", g => g.BytesSent),
                 })
            Each(text, name, type, help, guestRows, Guest, value);

        text.Family("nano_operations", MetricType.Gauge, "Operations on record by kind and state.");
        foreach (var (kind, state, count) in operationCounts)
            text.Sample("", [("kind", kind), ("state", state)], count);
        text.Family("nano_operation_duration_seconds", MetricType.Histogram, "Seconds from an operation's start to its end, for the finished operations on record.");
        foreach (var d in durations)
            text.Histogram([("kind", d.Kind)], DurationBounds, d.AtMost, d.Count, d.Seconds);

        text.Family("nano_api_requests", MetricType.Counter, "API requests this server answered, by protocol, route, method and answer (REST: the envelope's error_code; gRPC: the status).");
        foreach (var ((protocol, route, method, code), count) in server.Requests.OrderBy(r => r.Key))
            text.Sample("_total", [("protocol", protocol), ("route", route), ("method", method), ("code", code)], count);
        text.Family("nano_api_request_duration_seconds", MetricType.Histogram, "Seconds this server took to answer API requests (a stream: until it ended).");
        foreach (var ((protocol, route, method), histogram) in server.Latency.OrderBy(r => r.Key))
        {
            var (atMost, count, sum) = histogram.Read();
            text.Histogram([("protocol", protocol), ("route", route), ("method", method)], ServerMetrics.LatencyBounds, atMost, count, sum);
        }

        text.Family("nano_console_connections", MetricType.Gauge, "Console (VNC over WebSocket) connections open on this server.");
        text.Sample("", [], server.ConsoleOpen);
        text.Family("nano_console_connections_opened", MetricType.Counter, "Console connections this server opened since it started.");
        text.Sample("_total", [], server.ConsoleOpened);
    }

    /// <summary>A gauge or counter family with one sample per row.</summary>
    private static void Each<T>(MetricsText text, string name, MetricType type, string help, IEnumerable<T> rows, Func<T, (string, string)[]> labels, Func<T, double> value)
    {
        text.Family(name, type, help);
        foreach (var row in rows)
            text.Sample(type == MetricType.Counter ? "_total" : "", labels(row), value(row));
    }
}
