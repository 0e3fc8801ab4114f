using Npgsql;

namespace Nano.Server.Data;

/// <summary>The SQLSTATE codes the repositories report as write outcomes.</summary>
internal static class PostgresErrors
{
    public static bool IsUniqueViolation(this PostgresException e) => e.SqlState == PostgresErrorCodes.UniqueViolation;

    public static bool IsForeignKeyViolation(this PostgresException e) => e.SqlState == PostgresErrorCodes.ForeignKeyViolation;
}
