using Dapper;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>Statement shapes the repositories share.</summary>
internal static class Statements
{
    /// <summary>Runs one INSERT, UPDATE or DELETE of one row and says how it ended (see <see cref="WriteAsync"/>).</summary>
    public static async Task<Written> WriteOneAsync(this NpgsqlDataSource db, string sql, object args)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.WriteAsync(sql, args);
    }

    /// <summary>
    /// Runs one write statement: Missing when it touched no row, Exists on a unique violation; a foreign key
    /// violation is InUse for a DELETE (the row is still referenced) and Missing otherwise (a row it names does not exist).
    /// </summary>
    public static async Task<Written> WriteAsync(this NpgsqlConnection c, string sql, object args, NpgsqlTransaction? tx = null)
    {
        try
        {
            return Written.OneRow(await c.ExecuteAsync(sql, args, tx));
        }
        catch (PostgresException e) when (e.IsUniqueViolation())
        {
            return Written.Exists;
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            return sql.TrimStart().StartsWith("DELETE", StringComparison.OrdinalIgnoreCase) ? Written.InUse() : Written.Missing();
        }
    }
}
