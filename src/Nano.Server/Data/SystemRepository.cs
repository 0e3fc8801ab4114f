using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>First-run initialisation: the first role, group and administrator in one transaction.</summary>
public sealed class SystemRepository(NpgsqlDataSource db)
{
    /// <summary>InUse when a user exists already (the system is initialised).</summary>
    public async Task<Written> InitializeAsync(string role, string[] menu, string group, string display, string user, string passwordHash)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtext('first-run'))", transaction: tx);
        if (await c.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM users)", transaction: tx))
            return Written.InUse();
        await c.ExecuteAsync("""
            INSERT INTO roles (name, menu) VALUES (@role, @menu) ON CONFLICT (name) DO UPDATE SET menu = EXCLUDED.menu;
            INSERT INTO user_groups (name, display) VALUES (@group, @display) ON CONFLICT (name) DO UPDATE SET display = EXCLUDED.display;
            INSERT INTO user_group_roles (group_name, role_name) VALUES (@group, @role) ON CONFLICT DO NOTHING;
            INSERT INTO users (name, password_hash, group_name) VALUES (@user, @passwordHash, @group);
            """, new { role, menu, group, display, user, passwordHash }, tx);
        await tx.CommitAsync();
        return Written.Done;
    }

    /// <summary>The read of the zone's identity, kept once it succeeded (a reference: never seen half-written by another thread).</summary>
    private Task<Guid>? _zone;

    /// <summary>The zone's identity, made once per database (<c>zone_identity</c>): read once, it never changes.</summary>
    public Task<Guid> ZoneIdAsync() => _zone is { IsCompletedSuccessfully: true } known ? known : _zone = ReadZoneIdAsync();

    private async Task<Guid> ReadZoneIdAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteScalarAsync<Guid>("SELECT id FROM zone_identity");
    }
}
