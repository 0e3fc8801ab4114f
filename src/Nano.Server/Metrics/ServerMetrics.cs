using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;

namespace Nano.Server.Metrics;

/// <summary>
/// What this server process counts itself (each replica its own): API requests by protocol, route, method and answer,
/// with a latency histogram, and console connections. Labels stay bounded: a route is its template ("/api/v1/guests/{id}",
/// "/nano.v1.GuestService/GetGuest"), "unmatched" for any path no route claims; a method is one of the HTTP methods.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>Seconds: the latency histogram's bounds.</summary>
    public static readonly double[] LatencyBounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>HttpContext item where the envelope puts a REST failure's error_code.</summary>
    public const string ErrorCodeItem = "nano.error_code";

    private static readonly HashSet<string> Methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

    private readonly ConcurrentDictionary<(string Protocol, string Route, string Method, string Code), long> _requests = new();
    private readonly ConcurrentDictionary<(string Protocol, string Route, string Method), Histogram> _latency = new();
    private long _consoleOpened;
    private long _consoleOpen;

    public IEnumerable<KeyValuePair<(string Protocol, string Route, string Method, string Code), long>> Requests => _requests;

    public IEnumerable<KeyValuePair<(string Protocol, string Route, string Method), Histogram>> Latency => _latency;

    public long ConsoleOpened => Interlocked.Read(ref _consoleOpened);

    public long ConsoleOpen => Interlocked.Read(ref _consoleOpen);

    /// <summary>A console connection (the VNC relay) opened; dispose the result when it closes.</summary>
    public IDisposable ConsoleConnected()
    {
        Interlocked.Increment(ref _consoleOpened);
        Interlocked.Increment(ref _consoleOpen);
        return new Closing(() => Interlocked.Decrement(ref _consoleOpen));
    }

    /// <summary>Counts a finished request.</summary>
    public void Request(HttpContext http, TimeSpan elapsed)
    {
        var grpc = http.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;
        var protocol = grpc ? "grpc" : "rest";
        var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
        var method = Methods.Contains(http.Request.Method) ? http.Request.Method : "OTHER";
        var code = grpc ? GrpcStatus(http) : RestCode(http);
        _requests.AddOrUpdate((protocol, route, method, code), 1, (_, n) => n + 1);
        _latency.GetOrAdd((protocol, route, method), _ => new Histogram(LatencyBounds.Length)).Observe(elapsed.TotalSeconds);
    }

    /// <summary>The gRPC status's name ("OK", "NOT_FOUND"), from the trailers or, for a trailers-only answer, the headers.</summary>
    private static string GrpcStatus(HttpContext http)
    {
        var status = http.Features.Get<IHttpResponseTrailersFeature>()?.Trailers["grpc-status"].ToString();
        if (string.IsNullOrEmpty(status))
            status = http.Response.Headers["grpc-status"].ToString();
        return int.TryParse(status, out var value) && Enum.IsDefined(typeof(Grpc.Core.StatusCode), value)
            ? ToUpperSnake(((Grpc.Core.StatusCode)value).ToString())
            : http.Response.StatusCode >= 400 ? $"HTTP_{http.Response.StatusCode}" : "UNKNOWN";
    }

    /// <summary>The envelope's error_code (0 for success), or the HTTP status of what is no envelope (pages, files).</summary>
    private static string RestCode(HttpContext http) =>
        http.Items.TryGetValue(ErrorCodeItem, out var code) ? $"{code}" : http.Response.StatusCode >= 400 ? $"{http.Response.StatusCode}" : "0";

    private static string ToUpperSnake(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? $"_{c}" : $"{char.ToUpperInvariant(c)}"));

    /// <summary>A latency histogram: counts per bucket (not cumulative) and the sum, updated without locks but the sum's.</summary>
    public sealed class Histogram(int bounds)
    {
        private readonly long[] _counts = new long[bounds + 1];
        private readonly Lock _sumGate = new();
        private double _sum;

        public void Observe(double seconds)
        {
            var i = Array.FindIndex(LatencyBounds, b => seconds <= b);
            Interlocked.Increment(ref _counts[i < 0 ? _counts.Length - 1 : i]);
            lock (_sumGate)
                _sum += seconds;
        }

        /// <summary>Cumulative counts at each bound, the total count and the sum, read together.</summary>
        public (long[] AtMost, long Count, double Sum) Read()
        {
            double sum;
            lock (_sumGate)
                sum = _sum;
            var atMost = new long[_counts.Length - 1];
            long running = 0;
            for (var i = 0; i < atMost.Length; i++)
                atMost[i] = running += Interlocked.Read(ref _counts[i]);
            return (atMost, running + Interlocked.Read(ref _counts[^1]), sum);
        }
    }

    private sealed class Closing(Action close) : IDisposable
    {
        private int _closed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
                close();
        }
    }
}

/// <summary>Times every request for <see cref="ServerMetrics"/>; the first middleware, so it sees each answer as sent.</summary>
public sealed class RequestTiming(RequestDelegate next, ServerMetrics metrics)
{
    public async Task InvokeAsync(HttpContext http)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            metrics.Request(http, Stopwatch.GetElapsedTime(started));
        }
    }
}
