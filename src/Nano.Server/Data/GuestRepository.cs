using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A guest's configuration record with the address of its cell.</summary>
public sealed record GuestRow
{
    public required Guid Id { get; init; }
    public required string Name { get; init; }
    public required string Owner { get; init; }
    public required string GroupName { get; init; }
    public required string Pool { get; init; }
    public string? Cell { get; init; }
    public string? Host { get; init; }
    public bool Created { get; init; }
    public int Progress { get; init; }
    public bool Running { get; init; }
    public bool Lost { get; init; }
    public int Cores { get; init; }
    public long Memory { get; init; }
    public long[] Disks { get; init; } = [];
    public bool AutoStart { get; init; }
    public string System { get; init; } = "";
    public DateTime? CreateTime { get; init; }
}

/// <summary>Guest rows (the guest lifecycle that fills them is its own area).</summary>
public sealed class GuestRepository(NpgsqlDataSource db, CellRepository cells)
{
    /// <summary>Guests hosted in a pool, or on one cell of it, sorted by name; guests being created included.</summary>
    public async Task<IReadOnlyList<GuestRow>> ListAsync(string pool, string? cell)
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<GuestRow>($"""
            SELECT g.id, g.name, g.owner, g.group_name, g.pool, g.cell, cl.address AS host, g.created, g.progress, g.running,
                   (g.cell IS NOT NULL AND NOT {cells.AliveOf("cl")}) AS lost, g.cores, g.memory, g.disks, g.auto_start, g.system, g.create_time
            FROM guests g LEFT JOIN cells cl ON cl.name = g.cell
            WHERE g.pool = @pool AND (@cell::text IS NULL OR g.cell = @cell)
            ORDER BY g.name
            """, new { pool, cell })).AsList();
    }

    /// <summary>Records whether a guest's domain runs, as its cell reports; false when no row of that cell has the id.</summary>
    public async Task<bool> SetRunningAsync(string cell, Guid guest, bool running)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("UPDATE guests SET running = @running WHERE id = @guest AND cell = @cell", new { cell, guest, running }) == 1;
    }

    /// <summary>
    /// Takes a rejoining cell's report as the truth about its guests: reported domains set their guest's
    /// running flag; created guests of the cell without a domain are stopped. Returns the reported
    /// guest ids that have no row (domains nobody owns).
    /// </summary>
    public async Task<IReadOnlyList<Guid>> ReconcileAsync(string cell, IReadOnlyDictionary<Guid, bool> reported)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        var ids = reported.Keys.ToArray();
        var running = ids.Select(id => reported[id]).ToArray();
        await c.ExecuteAsync("""
            UPDATE guests g SET running = r.running
            FROM unnest(@ids, @running) AS r(id, running)
            WHERE g.id = r.id AND g.cell = @cell
            """, new { cell, ids, running }, tx);
        await c.ExecuteAsync("UPDATE guests SET running = false WHERE cell = @cell AND created AND running AND NOT (id = ANY(@ids))",
            new { cell, ids }, tx);
        var unknown = (await c.QueryAsync<Guid>("SELECT r FROM unnest(@ids) AS r WHERE NOT EXISTS (SELECT 1 FROM guests WHERE id = r)",
            new { ids }, tx)).AsList();
        await tx.CommitAsync();
        return unknown;
    }
}
