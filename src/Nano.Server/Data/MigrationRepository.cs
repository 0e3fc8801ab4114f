using Dapper;
using Npgsql;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Data;

/// <summary>
/// Migrations as their callers see them (#97, #98): operations of the migration kind, where one that has finished is
/// handed out once, by either route, and forgotten after that (api-decisions.md 4.10). Taking is atomic: of two readers, one gets it.
/// </summary>
public sealed class MigrationRepository(NpgsqlDataSource db)
{
    private const string Columns = "o.id, o.kind, o.target, o.state, o.stage, o.percent, o.error, o.created_by, o.created_at, o.updated_at, o.finished_at";

    /// <summary>The migration if it runs, or if it finished and nobody has been given it yet (it is given now); else null.</summary>
    public async Task<OperationRow?> TakeAsync(Guid id) => (await TakeAsync((Guid?)id)).SingleOrDefault();

    /// <summary>Running migrations and finished ones nobody has been given yet (given now), newest first.</summary>
    public Task<IReadOnlyList<OperationRow>> TakeAllAsync() => TakeAsync(null);

    private async Task<IReadOnlyList<OperationRow>> TakeAsync(Guid? id)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<OperationRow>($"""
            WITH listed AS (
                SELECT {Columns} FROM operations o
                WHERE o.kind = @kind AND (@id::uuid IS NULL OR o.id = @id) AND NOT EXISTS (SELECT 1 FROM returned_migrations r WHERE r.id = o.id)),
            taken AS (INSERT INTO returned_migrations (id) SELECT id FROM listed WHERE finished_at IS NOT NULL ON CONFLICT DO NOTHING RETURNING id)
            SELECT id, kind, target, state, stage, percent, error, created_by, created_at, updated_at, finished_at FROM listed WHERE finished_at IS NULL OR id IN (SELECT id FROM taken) ORDER BY created_at DESC, id
            """, new { id, kind = OperationKinds.MigrateGuests })).AsList();
    }
}
