using Dapper;
using Nano.Server.Domain;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>
/// Migrations as their callers see them (#97, #98): operations of the migration kind, where one that has finished is
/// handed out once, by either route, and forgotten after that (ROUTES.md 4.10). Taking is atomic: of two readers, one gets it.
/// </summary>
public sealed class MigrationRepository(NpgsqlDataSource db)
{
    private const string Columns = "o.id, o.kind, o.target, o.state, o.stage, o.percent, o.error, o.created_by, o.created_at, o.updated_at, o.finished_at";

    /// <summary>The migration if it runs, or if it finished and nobody has been given it yet (it is given now); else null.</summary>
    public async Task<OperationRow?> TakeAsync(Guid id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<OperationRow>($"""
            WITH found AS (
                SELECT {Columns} FROM operations o
                WHERE o.id = @id AND o.kind = @kind AND NOT EXISTS (SELECT 1 FROM returned_migrations r WHERE r.id = o.id)),
            taken AS (INSERT INTO returned_migrations (id) SELECT id FROM found WHERE finished_at IS NOT NULL ON CONFLICT DO NOTHING RETURNING id)
            SELECT * FROM found WHERE finished_at IS NULL OR id IN (SELECT id FROM taken)
            """, new { id, kind = Migrations.Kind });
    }

    /// <summary>Running migrations and finished ones nobody has been given yet (given now), newest first.</summary>
    public async Task<IReadOnlyList<OperationRow>> TakeAllAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<OperationRow>($"""
            WITH listed AS (
                SELECT {Columns} FROM operations o
                WHERE o.kind = @kind AND NOT EXISTS (SELECT 1 FROM returned_migrations r WHERE r.id = o.id)),
            taken AS (INSERT INTO returned_migrations (id) SELECT id FROM listed WHERE finished_at IS NOT NULL ON CONFLICT DO NOTHING RETURNING id)
            SELECT * FROM listed WHERE finished_at IS NULL OR id IN (SELECT id FROM taken) ORDER BY created_at DESC, id
            """, new { kind = Migrations.Kind })).AsList();
    }
}
