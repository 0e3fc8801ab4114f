using Dapper;
using Npgsql;

namespace Nano.Server.Data;

public sealed record SnapshotRow(string Name, string? Parent, bool IsCurrent, string Description, DateTime CreatedAt);

/// <summary>The snapshot tree of each guest.</summary>
public sealed class SnapshotRepository(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<SnapshotRow>> ListAsync(Guid guest)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<SnapshotRow>(
            "SELECT name, parent, is_current, description, created_at FROM snapshots WHERE guest = @guest ORDER BY created_at, name", new { guest })).AsList();
    }

    /// <summary>Adds a snapshot below the current one and makes it current; Exists when the guest has one of that name.</summary>
    public async Task<Written> AddAsync(Guid guest, string name, string description)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var parent = await c.QuerySingleOrDefaultAsync<string>("SELECT name FROM snapshots WHERE guest = @guest AND is_current FOR UPDATE", new { guest }, tx);
        await c.ExecuteAsync("UPDATE snapshots SET is_current = false WHERE guest = @guest AND is_current", new { guest }, tx);
        var written = await c.WriteAsync("INSERT INTO snapshots (guest, name, parent, is_current, description) VALUES (@guest, @name, @parent, true, @description)",
            new { guest, name, parent, description }, tx);
        if (written.Outcome == WriteOutcome.Done)
            await tx.CommitAsync();
        return written;
    }

    public async Task MakeCurrentAsync(Guid guest, string name)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("UPDATE snapshots SET is_current = false WHERE guest = @guest AND is_current", new { guest }, tx);
        await c.ExecuteAsync("UPDATE snapshots SET is_current = true WHERE guest = @guest AND name = @name", new { guest, name }, tx);
        await tx.CommitAsync();
    }

    /// <summary>Removes a snapshot: its children move up to its parent; if it was current, its parent becomes current.</summary>
    public async Task RemoveAsync(Guid guest, SnapshotRow snapshot)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("UPDATE snapshots SET parent = @parent WHERE guest = @guest AND parent = @name", new { guest, snapshot.Name, snapshot.Parent }, tx);
        await c.ExecuteAsync("DELETE FROM snapshots WHERE guest = @guest AND name = @name", new { guest, snapshot.Name }, tx);
        if (snapshot.IsCurrent && snapshot.Parent is not null)
            await c.ExecuteAsync("UPDATE snapshots SET is_current = true WHERE guest = @guest AND name = @parent", new { guest, snapshot.Parent }, tx);
        await tx.CommitAsync();
    }
}
