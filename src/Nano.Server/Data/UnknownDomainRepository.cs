using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A domain of this zone a cell reported with no guest row (<c>unknown_domains</c>).</summary>
public sealed record UnknownDomainRow(string Cell, Guid Guest, string Name, string State, long Generation, DateTime ReportedAt);

/// <summary>
/// What the zone knows of domains it has no guest row for: the guests it abandoned (their domains may go) and the
/// domains cells report that nobody claims (they stay until an administrator removes them).
/// </summary>
public sealed class UnknownDomainRepository(NpgsqlDataSource db)
{
    private const string Select = "SELECT cell, guest, name, state, generation, reported_at FROM unknown_domains";

    /// <summary>Whether the zone gave up on creating <paramref name="guest"/> on <paramref name="cell"/>; the entry goes with the answer.</summary>
    public async Task<bool> TakeAbandonedAsync(string cell, Guid guest)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.ExecuteAsync("DELETE FROM abandoned_guests WHERE id = @guest AND cell = @cell", new { guest, cell }) == 1;
    }

    /// <summary>Records what <paramref name="cell"/> reports now in place of what it reported before.</summary>
    public async Task ReplaceAsync(string cell, IReadOnlyList<UnknownDomainRow> reported)
    {
        await using var c = await db.OpenConnectionAsync();
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("DELETE FROM unknown_domains WHERE cell = @cell AND NOT guest = ANY(@guests)",
            new { cell, guests = reported.Select(d => d.Guest).ToArray() }, tx);
        foreach (var domain in reported)
        {
            await c.ExecuteAsync("""
                INSERT INTO unknown_domains (cell, guest, name, state, generation) VALUES (@Cell, @Guest, @Name, @State, @Generation)
                ON CONFLICT (cell, guest) DO UPDATE SET name = EXCLUDED.name, state = EXCLUDED.state, generation = EXCLUDED.generation, reported_at = now()
                """, domain, tx);
        }
        await tx.CommitAsync();
    }

    public async Task<IReadOnlyList<UnknownDomainRow>> ListAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<UnknownDomainRow>($"{Select} ORDER BY cell, guest")).AsList();
    }

    public async Task<UnknownDomainRow?> FindAsync(string cell, Guid guest)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<UnknownDomainRow>($"{Select} WHERE cell = @cell AND guest = @guest", new { cell, guest });
    }

    public async Task ForgetAsync(string cell, Guid guest)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("DELETE FROM unknown_domains WHERE cell = @cell AND guest = @guest", new { cell, guest });
    }
}
