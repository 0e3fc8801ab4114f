using Dapper;
using Npgsql;

namespace Nano.Server.Data;

public sealed record OperationRow(
    Guid Id, string Kind, string Target, string State, string Stage, int Percent, string Error, string CreatedBy,
    DateTime CreatedAt, DateTime UpdatedAt, DateTime? FinishedAt);

/// <summary>Operation rows. A finished operation (succeeded, failed, cancelled) never changes again.</summary>
public sealed class OperationRepository(NpgsqlDataSource db, Replicas.ReplicaIdentity self)
{
    private const string Select = "SELECT id, kind, target, state, stage, percent, error, created_by, created_at, updated_at, finished_at FROM operations";

    public async Task CreateAsync(Guid id, string kind, string target, string user)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("INSERT INTO operations (id, kind, target, created_by, replica) VALUES (@id, @kind, @target, @user, @replica)",
            new { id, kind, target, user, replica = self.Id });
    }

    /// <summary>This replica takes over an unfinished operation a dead one ran (recovery resumes it here).</summary>
    public async Task ClaimAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("UPDATE operations SET replica = @replica WHERE id = @id AND finished_at IS NULL", new { id, replica = self.Id });
    }

    public async Task<OperationRow?> FindAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<OperationRow>($"{Select} WHERE id = @id", new { id });
    }

    /// <summary>Newest first (index operations_newest); <paramref name="user"/> null means every user's.</summary>
    public async Task<IReadOnlyList<OperationRow>> ListAsync(string? user, string? target, bool activeOnly, int limit)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<OperationRow>($"""
            {Select} WHERE (@user::text IS NULL OR created_by = @user) AND (@target::text IS NULL OR target = @target)
                       AND (NOT @activeOnly OR finished_at IS NULL)
            ORDER BY created_at DESC, id LIMIT @limit
            """, new { user, target, activeOnly, limit })).AsList();
    }

    /// <summary>Moves an unfinished operation to running at a stage and percent; false once it has finished.</summary>
    public async Task<bool> ProgressAsync(Guid id, string stage, int percent)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("""
            UPDATE operations SET state = 'running', stage = @stage, percent = @percent, updated_at = now()
            WHERE id = @id AND finished_at IS NULL
            """, new { id, stage, percent = Math.Clamp(percent, 0, 100) }) == 1;
    }

    /// <summary>Ends an unfinished operation in a terminal state.</summary>
    public async Task<bool> FinishAsync(Guid id, string state, string error)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("""
            UPDATE operations SET state = @state, error = @error, percent = CASE WHEN @state = 'succeeded' THEN 100 ELSE percent END,
                   updated_at = now(), finished_at = now()
            WHERE id = @id AND finished_at IS NULL
            """, new { id, state, error }) == 1;
    }

    /// <summary>Whether another replica, alive, runs the unfinished operation.</summary>
    public async Task<bool> RunByAnotherLiveReplicaAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<bool>($"""
            SELECT true FROM operations WHERE id = @id AND finished_at IS NULL AND replica <> @self AND NOT {ReplicaRepository.NotAlive("replica")}
            """, new { id, self = self.Id, liveness = self.Liveness });
    }

    /// <summary>Operations left unfinished by replicas that are not alive: nothing runs them any more.</summary>
    public async Task<IReadOnlyList<Guid>> ListOrphanedAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<Guid>($"SELECT id FROM operations WHERE finished_at IS NULL AND {ReplicaRepository.NotAlive("replica")}",
            new { self = self.Id, liveness = self.Liveness })).AsList();
    }

    /// <summary>The error of a failed operation of <paramref name="kind"/> on <paramref name="target"/> not told yet; told once.</summary>
    public async Task<string?> TakeFailureAsync(string kind, string target, string? user)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<string>("""
            UPDATE operations SET acknowledged = true
            WHERE id = (SELECT id FROM operations WHERE kind = @kind AND target = @target AND state = 'failed' AND NOT acknowledged
                        AND (@user::text IS NULL OR created_by = @user) ORDER BY created_at DESC LIMIT 1)
            RETURNING error
            """, new { kind, target, user });
    }
}
