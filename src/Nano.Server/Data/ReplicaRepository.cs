using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A cell's stream held by another replica: the stream's id and where that replica is.</summary>
public sealed record CellStreamRow(Guid Stream, string GrpcUrl);

/// <summary>A replica as the registry lists it.</summary>
public sealed record ReplicaRow(Guid Id, string GrpcUrl, string RestUrl, string Host, string Version, DateTime StartedAt, DateTime LastSeen);

/// <summary>
/// The registry of the zone's nano-server replicas and the leases of the duties one of them runs at a time. Times are the
/// database's: replicas on hosts whose clocks differ agree on who is alive and who holds a lease.
/// </summary>
public sealed class ReplicaRepository(NpgsqlDataSource db)
{
    /// <summary>
    /// SQL that is true when the replica <paramref name="column"/> names is not alive: none, or not heard from within
    /// <c>@liveness</c>. The replica asking (<c>@self</c>) is alive whatever its row says. What such a replica held is
    /// recovered by the leader.
    /// </summary>
    public static string NotAlive(string column) =>
        $"({column} IS NULL OR ({column} <> @self AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = {column} AND r.last_seen > now() - @liveness)))";

    /// <summary>
    /// SQL that is true when the operation <paramref name="column"/> names is unfinished and run by a live replica: the
    /// work it holds (a guest, an image) is that replica's, not recovery's.
    /// </summary>
    public static string RunByLiveReplica(string column) =>
        $"EXISTS (SELECT 1 FROM operations o WHERE o.id = {column} AND o.finished_at IS NULL AND NOT {NotAlive("o.replica")})";

    private const string Select = "SELECT id, grpc_url, rest_url, host, version, started_at, last_seen FROM replicas";

    /// <summary>
    /// Registers a starting replica. A row with the same gRPC URL is an earlier run of this one (it held the port this one
    /// listens on now): it is dead at once, and its leases end, so what it left is recovered without waiting out the window.
    /// </summary>
    public async Task RegisterAsync(Guid id, string grpcUrl, string restUrl, string host, string version)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var transaction = await c.BeginTransactionAsync();
        await c.ExecuteAsync("""
            UPDATE replicas SET last_seen = '-infinity' WHERE grpc_url = @grpcUrl AND id <> @id;
            UPDATE leases SET expires_at = now() WHERE replica IN (SELECT id FROM replicas WHERE grpc_url = @grpcUrl AND id <> @id);
            INSERT INTO replicas (id, grpc_url, rest_url, host, version) VALUES (@id, @grpcUrl, @restUrl, @host, @version);
            """, new { id, grpcUrl, restUrl, host, version }, transaction);
        await transaction.CommitAsync();
    }

    /// <summary>Refreshes the replica's row; false when it is gone (the leader found it dead and recovered its work).</summary>
    public async Task<bool> TouchAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("UPDATE replicas SET last_seen = now() WHERE id = @id AND last_seen > '-infinity'", new { id }) == 1;
    }

    /// <summary>A replica stopping in order: its row and its leases go (another replica takes them at once).</summary>
    public async Task RemoveAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("DELETE FROM leases WHERE replica = @id; DELETE FROM replicas WHERE id = @id", new { id });
    }

    /// <summary>The replicas heard from within <paramref name="liveness"/>.</summary>
    public async Task<IReadOnlyList<ReplicaRow>> ListLiveAsync(TimeSpan liveness)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<ReplicaRow>($"{Select} WHERE last_seen > now() - @liveness ORDER BY started_at, id", new { liveness })).AsList();
    }

    public async Task<ReplicaRow?> FindAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<ReplicaRow>($"{Select} WHERE id = @id", new { id });
    }

    /// <summary>The replicas other than <paramref name="self"/> not heard from within <paramref name="liveness"/>: dead, their work to recover.</summary>
    public async Task<IReadOnlyList<Guid>> ListDeadAsync(Guid self, TimeSpan liveness)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<Guid>("SELECT id FROM replicas WHERE last_seen <= now() - @liveness AND id <> @self", new { self, liveness })).AsList();
    }

    /// <summary>Deletes the rows of dead replicas once their work is recovered.</summary>
    public async Task DeleteAsync(IReadOnlyCollection<Guid> dead)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("DELETE FROM replicas WHERE id = ANY(@dead)", new { dead = dead.ToArray() });
    }

    /// <summary>
    /// Takes or renews lease <paramref name="name"/> for <paramref name="replica"/> for <paramref name="duration"/>: it is
    /// taken when free, expired, or already the replica's. False when another replica holds it.
    /// </summary>
    public async Task<bool> HoldLeaseAsync(string name, Guid replica, TimeSpan duration)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("""
            INSERT INTO leases (name, replica, acquired_at, expires_at) VALUES (@name, @replica, now(), now() + @duration)
            ON CONFLICT (name) DO UPDATE SET
                replica = EXCLUDED.replica, expires_at = EXCLUDED.expires_at,
                acquired_at = CASE WHEN leases.replica = EXCLUDED.replica THEN leases.acquired_at ELSE now() END
            WHERE leases.replica = EXCLUDED.replica OR leases.expires_at < now()
            """, new { name, replica, duration }) == 1;
    }

    /// <summary>The fingerprint of the key that seals the zone's secrets: <paramref name="mine"/> if none was recorded yet.</summary>
    public async Task<string> SecretsKeyFingerprintAsync(string mine)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleAsync<string>("""
            INSERT INTO secrets_key_check (fingerprint) VALUES (@mine) ON CONFLICT (singleton) DO NOTHING;
            SELECT fingerprint FROM secrets_key_check;
            """, new { mine });
    }

    /// <summary>The key replicas present to each other, made with <paramref name="candidate"/> by the first replica that asks.</summary>
    public async Task<string> KeyAsync(string candidate)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleAsync<string>("""
            INSERT INTO replica_key (key) VALUES (@candidate) ON CONFLICT (singleton) DO NOTHING;
            SELECT key FROM replica_key;
            """, new { candidate });
    }

    /// <summary>
    /// Where the stream of <paramref name="cell"/> is held, by a live replica other than <paramref name="self"/>: the stream
    /// the cell's row names and that replica's gRPC URL; null when the cell is not connected or its replica is not alive.
    /// </summary>
    public async Task<CellStreamRow?> FindCellStreamAsync(string cell, Guid self, TimeSpan liveness)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<CellStreamRow>("""
            SELECT c.stream, r.grpc_url FROM cells c JOIN replicas r ON r.id = c.replica
            WHERE c.name = @cell AND c.connected AND c.stream IS NOT NULL AND r.id <> @self AND r.last_seen > now() - @liveness
            """, new { cell, self, liveness });
    }

    /// <summary>The stream the row of <paramref name="cell"/> names, while it is connected.</summary>
    public async Task<Guid?> CellStreamAsync(string cell)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<Guid?>("SELECT stream FROM cells WHERE name = @cell AND connected", new { cell });
    }
}
