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
}
