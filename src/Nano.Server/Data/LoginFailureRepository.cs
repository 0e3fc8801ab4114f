using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>Failed logins per key (a client address or a user name) in windows of a given length, for the whole zone.</summary>
public sealed class LoginFailureRepository(NpgsqlDataSource db)
{
    /// <summary>Of <paramref name="keys"/>, those whose current window holds at least their limit of failures, with the seconds left in it.</summary>
    public async Task<IReadOnlyList<(string Key, double SecondsLeft)>> LockedAsync(IReadOnlyList<(string Key, int Limit)> keys, TimeSpan window)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<(string, double)>("""
            SELECT f.key, extract(epoch FROM f.window_start + @window - now())::float8
            FROM login_failures f JOIN unnest(@keys, @limits) AS k(key, limit_) ON k.key = f.key
            WHERE f.failures >= k.limit_ AND f.window_start + @window > now()
            """, new { keys = keys.Select(k => k.Key).ToArray(), limits = keys.Select(k => k.Limit).ToArray(), window })).AsList();
    }

    /// <summary>Counts one failure for each key (a new window for a key whose window ended); the counts after it, in order.</summary>
    public async Task<int[]> CountAsync(string[] keys, TimeSpan window)
    {
        await using var c = await db.OpenConnectionAsync();
        var counts = (await c.QueryAsync<(string Key, int Failures)>("""
            INSERT INTO login_failures AS f (key, window_start, failures) SELECT k, now(), 1 FROM unnest(@keys) AS k
            ON CONFLICT (key) DO UPDATE SET
                window_start = CASE WHEN f.window_start + @window <= now() THEN now() ELSE f.window_start END,
                failures = CASE WHEN f.window_start + @window <= now() THEN 1 ELSE f.failures + 1 END
            RETURNING key, failures
            """, new { keys, window })).ToDictionary(r => r.Key, r => r.Failures);
        return keys.Select(k => counts[k]).ToArray();
    }

    /// <summary>Deletes the rows whose window ended (the leader's sweep).</summary>
    public async Task<int> DeleteEndedAsync(TimeSpan window)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("DELETE FROM login_failures WHERE window_start + @window <= now()", new { window });
    }
}
