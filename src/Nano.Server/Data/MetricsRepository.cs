using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>The finished operations of a kind: how many took at most each bound (in the order asked), how many in all, their seconds.</summary>
public sealed record OperationDurations(string Kind, long[] AtMost, long Count, double Seconds);

/// <summary>The zone-wide figures a Prometheus scrape reads (cells come from <see cref="CellRepository"/>).</summary>
public sealed class MetricsRepository(NpgsqlDataSource db)
{
    /// <summary>Created guests placed on a cell, with their latest metrics (the rows carry only those columns).</summary>
    public async Task<IReadOnlyList<GuestRow>> GuestsAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<GuestRow>("""
            SELECT id, name, owner, group_name, cell, pool, running, cores, memory, cpu_usage, memory_used, bytes_read, bytes_written, bytes_received, bytes_sent
            FROM guests WHERE created AND cell IS NOT NULL ORDER BY id
            """)).AsList();
    }

    /// <summary>Operations by kind and state.</summary>
    public async Task<IReadOnlyList<(string Kind, string State, long Count)>> OperationCountsAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<(string, string, long)>("SELECT kind, state, count(*) FROM operations GROUP BY kind, state ORDER BY kind, state")).AsList();
    }

    /// <summary>The durations (creation to finish) of finished operations by kind, counted against <paramref name="bounds"/> (seconds).</summary>
    public async Task<IReadOnlyList<OperationDurations>> OperationDurationsAsync(double[] bounds)
    {
        const string durations = "SELECT kind, extract(epoch FROM finished_at - created_at)::float8 AS d FROM operations WHERE finished_at IS NOT NULL";
        await using var c = await db.OpenConnectionAsync();
        var totals = await c.QueryAsync<(string Kind, long Count, double Seconds)>(
            $"SELECT kind, count(*), coalesce(sum(d), 0) FROM ({durations}) o GROUP BY kind ORDER BY kind");
        var atMost = (await c.QueryAsync<(string Kind, long Index, long Count)>($"""
            SELECT o.kind, b.i, count(*) FILTER (WHERE o.d <= b.le)
            FROM ({durations}) o CROSS JOIN unnest(@bounds) WITH ORDINALITY AS b(le, i)
            GROUP BY o.kind, b.i
            """, new { bounds })).ToLookup(r => r.Kind);
        return totals.Select(t => new OperationDurations(t.Kind, atMost[t.Kind].OrderBy(r => r.Index).Select(r => r.Count).ToArray(), t.Count, t.Seconds)).ToList();
    }
}
