using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>A template's hardware and OS settings.</summary>
public sealed record TemplateConfig(
    string Name, string Admin, string OperatingSystem, string Disk, string Network, string Display, string Control, string Usb, string Tablet);

public sealed record TemplateRow(
    string Id, string Name, string Admin, string OperatingSystem, string Disk, string Network, string Display, string Control,
    string Usb, string Tablet, DateTime CreatedAt, DateTime ModifiedAt);

/// <summary>System templates, in creation order.</summary>
public sealed class TemplateRepository(NpgsqlDataSource db)
{
    private const string Select = """
        SELECT id, name, admin, operating_system, disk, network, display, control, usb, tablet, created_at, modified_at FROM templates
        """;

    public async Task<IReadOnlyList<TemplateRow>> ListAsync()
    {
        await using var c = await db.OpenConnectionAsync();
        return (await c.QueryAsync<TemplateRow>($"{Select} ORDER BY position")).AsList();
    }

    public async Task<TemplateRow?> FindAsync(string id)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleOrDefaultAsync<TemplateRow>($"{Select} WHERE id = @id", new { id });
    }

    public Task<Written> CreateAsync(string id, TemplateConfig t) =>
        db.WriteOneAsync("""
            INSERT INTO templates (id, name, admin, operating_system, disk, network, display, control, usb, tablet)
            VALUES (@id, @Name, @Admin, @OperatingSystem, @Disk, @Network, @Display, @Control, @Usb, @Tablet)
            """, new { id, t.Name, t.Admin, t.OperatingSystem, t.Disk, t.Network, t.Display, t.Control, t.Usb, t.Tablet });

    /// <summary>Replaces the whole configuration; the name stays unique.</summary>
    public Task<Written> UpdateAsync(string id, TemplateConfig t) => db.WriteOneAsync("""
        UPDATE templates SET name = @Name, admin = @Admin, operating_system = @OperatingSystem, disk = @Disk, network = @Network,
            display = @Display, control = @Control, usb = @Usb, tablet = @Tablet, modified_at = now()
        WHERE id = @id
        """, new { id, t.Name, t.Admin, t.OperatingSystem, t.Disk, t.Network, t.Display, t.Control, t.Usb, t.Tablet });

    /// <summary>Unconditional: guests keep the hardware they were created with.</summary>
    public Task<Written> DeleteAsync(string id) => db.WriteOneAsync("DELETE FROM templates WHERE id = @id", new { id });
}
