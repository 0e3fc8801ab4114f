using Nano.Server.Data;
using Sums = System.Collections.Generic.Dictionary<(string Kind, string State, int Bucket), (long Count, double Seconds)>;

namespace Nano.Server.Metrics;

/// <summary>
/// The operations' figures of a scrape (counts by kind and state, durations by kind) without reading the whole table,
/// which keeps every operation ever run, at each scrape. A finished operation never changes again (every write of an
/// operation is of an unfinished one), so those finished more than <paramref name="margin"/> ago are summed once, into the
/// totals this replica keeps, and each scrape reads only the rest: the unfinished ones and those finished since, both
/// through indexes. The margin gives a finish time to commit (finished_at is its statement's start). A replica starts
/// with nothing summed: its first scrape reads the table once.
/// </summary>
public sealed class OperationTotals(MetricsRepository rows, TimeSpan margin)
{
    /// <summary>The margin the server uses: far longer than any finish takes to commit.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);

    public OperationTotals(MetricsRepository rows) : this(rows, Margin) { }

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Sums _summed = [];
    private DateTime? _through;

    /// <summary>Operations by kind and state, and the finished ones' durations by kind against <see cref="ZoneMetrics.DurationBounds"/>.</summary>
    public async Task<(IReadOnlyList<(string Kind, string State, long Count)> Counts, IReadOnlyList<OperationDurations> Durations)> ReadAsync()
    {
        var bounds = ZoneMetrics.DurationBounds;
        await _gate.WaitAsync();
        try
        {
            var (through, finished, recent) = await rows.OperationGroupsAsync(_through, margin, bounds);
            Add(_summed, finished);
            _through = through;
            var all = new Sums(_summed);
            Add(all, recent);

            var counts = all.GroupBy(g => (g.Key.Kind, g.Key.State))
                .Select(g => (g.Key.Kind, g.Key.State, g.Sum(e => e.Value.Count)))
                .OrderBy(c => c.Kind, StringComparer.Ordinal).ThenBy(c => c.State, StringComparer.Ordinal).ToList();
            var durations = all.Where(g => g.Key.Bucket >= 0).GroupBy(g => g.Key.Kind)
                .Select(kind => new OperationDurations(kind.Key,
                    bounds.Select((_, i) => kind.Where(g => g.Key.Bucket <= i).Sum(g => g.Value.Count)).ToArray(),
                    kind.Sum(g => g.Value.Count), kind.Sum(g => g.Value.Seconds)))
                .OrderBy(d => d.Kind, StringComparer.Ordinal).ToList();
            return (counts, durations);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static void Add(Sums into, IEnumerable<OperationGroup> groups)
    {
        foreach (var g in groups)
        {
            var (count, seconds) = into.GetValueOrDefault((g.Kind, g.State, g.Bucket));
            into[(g.Kind, g.State, g.Bucket)] = (count + g.Count, seconds + g.Seconds);
        }
    }
}
