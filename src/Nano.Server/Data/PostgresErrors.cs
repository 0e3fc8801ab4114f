using Npgsql;

namespace Nano.Server.Data;

/// <summary>SQLSTATE codes the repositories turn into API failures.</summary>
internal static class PostgresErrors
{
    public static bool IsUniqueViolation(this PostgresException e) => e.SqlState == PostgresErrorCodes.UniqueViolation;

    public static bool IsForeignKeyViolation(this PostgresException e) => e.SqlState == PostgresErrorCodes.ForeignKeyViolation;
}
