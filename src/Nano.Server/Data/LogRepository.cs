using Dapper;
using Npgsql;

namespace Nano.Server.Data;

public sealed record LogRow(string Id, DateTime LoggedAt, string Content);

/// <summary>The operation log. Ids are YYYYMMDDhhmmss plus a 3-digit sequence within that second.</summary>
public sealed class LogRepository(NpgsqlDataSource db)
{
    /// <summary>At most this many entries are counted in a query's total.</summary>
    public const int MaxTotal = 1000;

    /// <summary>
    /// Appends a line at <paramref name="at"/> (server local time) and returns its id; null when that second has
    /// used all its 999 ids. Ids of one second are handed out under a lock.
    /// </summary>
    public async Task<string?> AddAsync(DateTime at, string content)
    {
        at = new DateTime(at.Ticks - at.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Unspecified);
        var second = at.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture);
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('operation_logs'))", transaction: tx);
        var used = await c.ExecuteScalarAsync<int>(
            "SELECT COALESCE(max(right(id, 3)::int), 0) FROM operation_logs WHERE id LIKE @prefix", new { prefix = second + "%" }, tx);
        if (used >= 999)
            return null;
        var id = second + (used + 1).ToString("000", System.Globalization.CultureInfo.InvariantCulture);
        await c.ExecuteAsync("INSERT INTO operation_logs (id, logged_at, content) VALUES (@id, @at, @content)",
            new { id, at, content }, tx);
        await tx.CommitAsync();
        return id;
    }

    /// <summary>Entries in [after, before], newest first, skipping <paramref name="start"/>; total counts at most <see cref="MaxTotal"/>.</summary>
    public async Task<(IReadOnlyList<LogRow> Entries, int Total)> QueryAsync(DateTime after, DateTime before, int start, int limit)
    {
        await using var c = await db.OpenConnectionAsync();
        var args = new { after, before, start, limit, cap = MaxTotal };
        var total = await c.ExecuteScalarAsync<int>("""
            SELECT count(*) FROM (SELECT 1 FROM operation_logs WHERE logged_at BETWEEN @after AND @before LIMIT @cap) AS capped
            """, args);
        var rows = await c.QueryAsync<LogRow>("""
            SELECT id, logged_at, content FROM operation_logs WHERE logged_at BETWEEN @after AND @before
            ORDER BY id DESC OFFSET @start LIMIT @limit
            """, args);
        return (rows.AsList(), total);
    }

    /// <summary>Days (YYYYMMDD) among <paramref name="days"/> that hold no entry at all.</summary>
    public async Task<IReadOnlyList<string>> EmptyDaysAsync(string[] days)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<string>("""
            SELECT d FROM unnest(@days) AS d
            WHERE NOT EXISTS (SELECT 1 FROM operation_logs WHERE id LIKE d || '%')
            """, new { days })).AsList();
    }

    public async Task<int> DeleteAsync(string[] ids)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("DELETE FROM operation_logs WHERE id = ANY(@ids)", new { ids });
    }
}
