using Dapper;
using Nano.Server.Domain;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>Statement shapes the repositories share.</summary>
internal static class Statements
{
    /// <summary>Runs an INSERT of one row; a unique violation is ALREADY_EXISTS (<paramref name="exists"/>).</summary>
    public static async Task InsertOneAsync(this NpgsqlDataSource db, string sql, object args, string exists)
    {
        await using var c = await db.OpenConnectionAsync();
        try
        {
            await c.ExecuteAsync(sql, args);
        }
        catch (PostgresException e) when (e.IsUniqueViolation())
        {
            throw Fail.Exists(exists);
        }
    }

    /// <summary>
    /// Runs a DELETE of one row: no row is NOT_FOUND (<paramref name="notFound"/>), a row still
    /// referenced (a RESTRICT foreign key) is FAILED_PRECONDITION (<paramref name="inUse"/>).
    /// </summary>
    public static async Task DeleteOneAsync(this NpgsqlDataSource db, string sql, object args, string notFound, string inUse)
    {
        await using var c = await db.OpenConnectionAsync();
        try
        {
            if (await c.ExecuteAsync(sql, args) == 0)
                throw Fail.NotFound(notFound);
        }
        catch (PostgresException e) when (e.IsForeignKeyViolation())
        {
            throw Fail.Precondition(inUse);
        }
    }
}
