using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A live session with the menus its user's group has now.</summary>
public sealed record SessionRow
{
    public required string Id { get; init; }
    public required string UserName { get; init; }
    public string? GroupName { get; init; }
    public required string Address { get; init; }
    public required string[] Menu { get; init; }

    /// <summary>Seconds until it expires, by the database's clock when it was read.</summary>
    public double ExpiresIn { get; init; }
}

/// <summary>
/// Sessions. An expired row counts as absent everywhere; the sweep keeps it for <see cref="ExpiredKept"/> so that a
/// client can be told its session expired rather than that it never existed.
/// </summary>
public sealed class SessionRepository(NpgsqlDataSource db)
{
    /// <summary>How long an expired session is remembered as expired before the sweep deletes it.</summary>
    public static readonly TimeSpan ExpiredKept = TimeSpan.FromHours(1);

    private const string LiveSession = """
        SELECT s.id, s.user_name, u.group_name, s.address,
               ARRAY(SELECT DISTINCT m FROM user_group_roles gr JOIN roles r ON r.name = gr.role_name, unnest(r.menu) AS m
                     WHERE gr.group_name = u.group_name ORDER BY m) AS menu,
               EXTRACT(EPOCH FROM s.expires_at - now())::float8 AS expires_in
        FROM sessions s JOIN users u ON u.name = s.user_name
        WHERE s.id = @id AND s.expires_at > now()
        """;

    public async Task CreateAsync(string id, string user, string nonce, string address, TimeSpan timeout)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO sessions (id, user_name, nonce, address, expires_at)
            VALUES (@id, @user, @nonce, @address, now() + @timeout)
            """, new { id, user, nonce, address, timeout });
    }

    public async Task<SessionRow?> FindLiveAsync(string id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<SessionRow>(LiveSession, new { id });
    }

    /// <summary>When the session expired, if it is an expired one still remembered; null for a live or unknown one.</summary>
    public async Task<DateTime?> ExpiredAtAsync(string id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<DateTime?>(
            "SELECT expires_at FROM sessions WHERE id = @id AND expires_at <= now()", new { id });
    }

    /// <summary>Moves the expiry of a live session to now + timeout; false when it is unknown or expired.</summary>
    public async Task<bool> TouchAsync(string id, TimeSpan timeout)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync(
            "UPDATE sessions SET expires_at = now() + @timeout WHERE id = @id AND expires_at > now()", new { id, timeout }) > 0;
    }

    public async Task<bool> DeleteAsync(string id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("DELETE FROM sessions WHERE id = @id", new { id }) > 0;
    }

    /// <summary>Ends every session of <paramref name="user"/> but <paramref name="keep"/> (the one asking); returns how many ended.</summary>
    public async Task<int> DeleteOthersOfAsync(string user, string keep)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("DELETE FROM sessions WHERE user_name = @user AND id <> @keep", new { user, keep });
    }

    public async Task<IReadOnlyList<string>> ListLiveIdsAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<string>("SELECT id FROM sessions WHERE expires_at > now() ORDER BY created_at")).AsList();
    }

    public async Task<int> DeleteExpiredAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("DELETE FROM sessions WHERE expires_at <= now() - @kept", new { kept = ExpiredKept });
    }
}
