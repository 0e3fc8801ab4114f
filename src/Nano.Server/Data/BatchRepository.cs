using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>One guest of a batch: its name (creations), its id once known, its status and error; progress mirrors a guest being created.</summary>
public sealed record BatchItemRow(int Position, string Name, Guid? Guest, string Status, string Error, int Progress);

/// <summary>The items of batch tasks; the batch itself is an operation row with the same id.</summary>
public sealed class BatchRepository(NpgsqlDataSource db)
{
    public async Task InsertItemsAsync(Guid batch, IReadOnlyList<(string Name, Guid? Guest)> items, string status)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO batch_items (batch, position, name, guest, status)
            SELECT @batch, i.position - 1, i.name, i.guest, @status FROM unnest(@names, @guests) WITH ORDINALITY AS i(name, guest, position)
            """, new { batch, status, names = items.Select(i => i.Name).ToArray(), guests = items.Select(i => i.Guest).ToArray() });
    }

    /// <summary>Items in order; a creation's progress is its guest's (100 once created).</summary>
    public async Task<IReadOnlyList<BatchItemRow>> ListAsync(Guid batch)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<BatchItemRow>("""
            SELECT b.position, b.name, b.guest, b.status, b.error,
                   CASE WHEN g.created THEN 100
                        ELSE COALESCE((SELECT o.percent FROM operations o WHERE o.id = g.operation AND o.finished_at IS NULL), 0) END AS progress
            FROM batch_items b LEFT JOIN guests g ON g.id = b.guest
            WHERE b.batch = @batch ORDER BY b.position
            """, new { batch })).AsList();
    }

    public async Task UpdateAsync(Guid batch, int position, string status, Guid? guest = null, string error = "")
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            UPDATE batch_items SET status = @status, guest = COALESCE(@guest, guest), error = @error WHERE batch = @batch AND position = @position
            """, new { batch, position, status, guest, error });
    }

    /// <summary>At start-up: items of batches a stopped server left running fail (their operations failed too).</summary>
    public async Task AbandonAsync(IReadOnlyCollection<string> runningStatuses, Guid self, TimeSpan liveness)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync($"""
            UPDATE batch_items SET status = 'fail', error = 'the server stopped while this batch ran'
            WHERE status = ANY(@running) AND batch IN (SELECT id FROM operations WHERE {ReplicaRepository.NotAlive("replica")})
            """, new { running = runningStatuses.ToArray(), self, liveness });
    }
}
