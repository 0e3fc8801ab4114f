using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>The finished operations of a kind: how many took at most each bound (in the order asked), how many in all, their seconds.</summary>
public sealed record OperationDurations(string Kind, long[] AtMost, long Count, double Seconds);

/// <summary>
/// Operations of one kind and state whose durations fall in one bucket: -1 for unfinished ones, else the index of the
/// first bound at or above the duration (the number of bounds, above them all); how many, and their seconds in all.
/// </summary>
public sealed record OperationGroup(string Kind, string State, int Bucket, long Count, double Seconds);

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

    /// <summary>
    /// Operations in groups of one kind, state and duration bucket, in three parts read together: <c>Through</c>, the
    /// database's time minus <paramref name="margin"/>; <c>Finished</c>, those finished from <paramref name="from"/> (the
    /// start when null) until <c>Through</c>; <c>Recent</c>, the unfinished ones and those finished since <c>Through</c>.
    /// </summary>
    public async Task<(DateTime Through, IReadOnlyList<OperationGroup> Finished, IReadOnlyList<OperationGroup> Recent)> OperationGroupsAsync(
        DateTime? from, TimeSpan margin, double[] bounds)
    {
        await using var c = await db.OpenConnectionAsync();
        var through = await c.QuerySingleAsync<DateTime>("SELECT now() - @margin", new { margin });
        // width_bucket counts the thresholds at or below its operand; with both negated, the bounds at or above the
        // duration: the bucket is the number of bounds below it, so a duration equal to a bound falls in that bound's.
        var below = bounds.Select(b => -b).Reverse().ToArray();
        var finished = await c.QueryAsync<OperationGroup>(
            Groups(from is null ? "finished_at < @through" : "finished_at >= @from AND finished_at < @through"), new { from, through, below });
        var recent = await c.QueryAsync<OperationGroup>(
            $"{Groups("finished_at IS NULL")} UNION ALL {Groups("finished_at >= @through")}", new { through, below });
        return (through, finished.AsList(), recent.AsList());
    }

    /// <summary>The operations <paramref name="where"/> selects, as <see cref="OperationGroup"/> rows (the bounds negated, ascending, in @below).</summary>
    private static string Groups(string where) => $"""
        SELECT kind, state, CASE WHEN d IS NULL THEN -1 ELSE cardinality(@below::float8[]) - width_bucket(-d, @below::float8[]) END AS bucket,
               count(*) AS count, coalesce(sum(d), 0) AS seconds
        FROM (SELECT kind, state, extract(epoch FROM finished_at - created_at)::float8 AS d FROM operations WHERE {where}) o
        GROUP BY 1, 2, 3
        """;
}
