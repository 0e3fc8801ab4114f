using System.Net.Sockets;
using Npgsql;

namespace Nano.Server.Data;

/// <summary>What a database failure is: a fault of the database (it is down, restarting or unreachable), text it cannot store, or neither (a bug).</summary>
public enum DatabaseFault
{
    None,
    Unavailable,
    UnstorableText,
}

public static class DatabaseFaults
{
    public static DatabaseFault Classify(Exception e) => e switch
    {
        // invalid byte sequence (a NUL character), or a character the database's encoding lacks
        PostgresException { SqlState: "22021" or "22P05" } => DatabaseFault.UnstorableText,
        // connection exceptions, shutting down, starting up, too many connections
        PostgresException p when p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState is "57P01" or "57P02" or "57P03" or "53300" =>
            DatabaseFault.Unavailable,
        PostgresException => DatabaseFault.None,
        NpgsqlException { IsTransient: true } => DatabaseFault.Unavailable,
        NpgsqlException { InnerException: SocketException or IOException or TimeoutException } => DatabaseFault.Unavailable,
        { InnerException: { } inner } => Classify(inner),
        _ => DatabaseFault.None,
    };

    /// <summary>How often, and how long at most, <see cref="WaitOutAsync"/> tries a write again.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan RetryPatience = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Runs a write that must not be lost to a database outage (an operation's end, a compensation): while the database
    /// is unavailable it is tried again every second, for ten minutes at most; any other failure, or the last, is thrown.
    /// </summary>
    public static async Task WaitOutAsync(Func<Task> write, CancellationToken cancellationToken = default)
    {
        var until = DateTime.UtcNow + RetryPatience;
        while (true)
        {
            try
            {
                await write();
                return;
            }
            catch (Exception e) when (Classify(e) == DatabaseFault.Unavailable && DateTime.UtcNow < until)
            {
                await Task.Delay(RetryInterval, cancellationToken);
            }
        }
    }
}
