using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>One-shot console channels.</summary>
public sealed class MonitorChannelRepository(NpgsqlDataSource db)
{
    public async Task CreateAsync(Guid id, Guid guest, string address, string user, TimeSpan lifetime)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO monitor_channels (id, guest, address, created_by, expires_at) VALUES (@id, @guest, @address, @user, now() + @lifetime)
            """, new { id, guest, address, user, lifetime });
    }

    /// <summary>Uses a channel: its guest, once, before it expires; null otherwise.</summary>
    public async Task<Guid?> ClaimAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<Guid?>(
            "UPDATE monitor_channels SET used = true WHERE id = @id AND NOT used AND expires_at > now() RETURNING guest", new { id });
    }

    public async Task<int> DeleteStaleAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("DELETE FROM monitor_channels WHERE expires_at < now() - interval '1 minute'");
    }
}
