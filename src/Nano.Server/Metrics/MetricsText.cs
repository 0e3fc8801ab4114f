using System.Globalization;
using System.Text;

namespace Nano.Server.Metrics;

public enum MetricType
{
    Gauge,
    Counter,
    Histogram,
}

/// <summary>
/// Writes metric families in the OpenMetrics text format (what Prometheus asks for first) or in Prometheus' classic
/// text format 0.0.4 (what a plain client such as curl gets). The two differ in how a counter's family is named (OpenMetrics
/// names it without "_total", its samples with), in UNIT lines and in the closing "# EOF".
/// </summary>
public sealed class MetricsText(bool openMetrics)
{
    public const string OpenMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    public const string ClassicType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly StringBuilder _text = new();
    private string _family = "";

    public string ContentType => openMetrics ? OpenMetricsType : ClassicType;

    /// <summary>
    /// Starts a family. <paramref name="name"/> is its base name: a counter's samples add "_total", a histogram's
    /// "_bucket", "_count" and "_sum"; one ending in "_bytes" or "_seconds" gets that unit.
    /// </summary>
    public MetricsText Family(string name, MetricType type, string help)
    {
        _family = name;
        var declared = type == MetricType.Counter && !openMetrics ? name + "_total" : name;
        _text.Append("# HELP ").Append(declared).Append(' ').Append(help.Replace("\\", "\\\\").Replace("\n", "\\n")).Append('\n');
        _text.Append("# TYPE ").Append(declared).Append(' ').Append(type.ToString().ToLowerInvariant()).Append('\n');
        if (openMetrics && (name.EndsWith("_bytes", StringComparison.Ordinal) || name.EndsWith("_seconds", StringComparison.Ordinal)))
            _text.Append("# UNIT ").Append(name).Append(' ').Append(name[(name.LastIndexOf('_') + 1)..]).Append('\n');
        return this;
    }

    /// <summary>One sample of the current family: <paramref name="suffix"/> is "" for a gauge, "_total" for a counter, "_bucket"/"_count"/"_sum" for a histogram.</summary>
    public MetricsText Sample(string suffix, IEnumerable<(string Name, string Value)> labels, double value)
    {
        _text.Append(_family).Append(suffix);
        var first = true;
        foreach (var (name, text) in labels)
        {
            _text.Append(first ? '{' : ',').Append(name).Append("=\"").Append(Escape(text)).Append('"');
            first = false;
        }
        if (!first)
            _text.Append('}');
        _text.Append(' ').Append(Number(value)).Append('\n');
        return this;
    }

    /// <summary>A histogram's samples from cumulative counts at each bound.</summary>
    public MetricsText Histogram(IReadOnlyList<(string Name, string Value)> labels, IReadOnlyList<double> bounds, IReadOnlyList<long> atMost, long count, double sum)
    {
        for (var i = 0; i < bounds.Count; i++)
            Sample("_bucket", labels.Append(("le", Number(bounds[i]))), atMost[i]);
        Sample("_bucket", labels.Append(("le", "+Inf")), count);
        Sample("_count", labels, count);
        return Sample("_sum", labels, sum);
    }

    public override string ToString() => openMetrics ? _text + "# EOF\n" : _text.ToString();

    private static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);
}
