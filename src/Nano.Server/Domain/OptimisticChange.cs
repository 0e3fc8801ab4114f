using Grpc.Core;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// A change a cell applies, made without holding a row lock while the cell works (a held guest row once deadlocked
/// with the cell's own reports). Each attempt starts from the stored row and its version, decides the new row, has
/// the cell apply it, and writes it only if the stored row is still at that version. When another change was written
/// in between, the next attempt starts again from that one; when the change fails after an attempt reached the cell,
/// the cell is put back to what the stored row says. The stored row is what the cell enforces.
/// </summary>
public static class OptimisticChange
{
    /// <summary>Attempts before a change that keeps losing to others gives up (ABORTED).</summary>
    public const int Attempts = 5;

    /// <param name="row">the row as the caller read it: the first attempt starts from it</param>
    /// <param name="read">reads the stored row again (null when it is gone)</param>
    /// <param name="attempt">decides, has the cell apply, writes at the version read; returns what the write did</param>
    /// <param name="restore">has the cell apply a stored row again</param>
    /// <param name="what">names the row in the failure when the change gives up</param>
    /// <returns>the outcome of the last write: Done, or the failure the caller turns into its answer</returns>
    public static async Task<Written> RunAsync<TRow>(TRow row, Func<Task<TRow?>> read, Func<TRow, Task<Written>> attempt,
        Func<TRow, Task> restore, string what) where TRow : class
    {
        for (var n = 1; ; n++)
        {
            Written written;
            try
            {
                written = await attempt(row);
            }
            catch when (n > 1)
            {
                // An earlier attempt reached the cell, this one was refused: the cell goes back to the stored row.
                await RestoreAsync(await read(), restore);
                throw;
            }
            if (written.Outcome == WriteOutcome.Done)
                return written;
            var current = await read();
            if (written.Outcome == WriteOutcome.Busy && current is not null && n < Attempts)
            {
                row = current;
                continue;
            }
            await RestoreAsync(current, restore);
            if (written.Outcome == WriteOutcome.Busy && current is not null)
                throw Fail.Conflict($"{what} was changed by {Attempts} other requests while this change was applied: try again");
            return written;
        }
    }

    private static async Task RestoreAsync<TRow>(TRow? current, Func<TRow, Task> restore) where TRow : class
    {
        if (current is null)
            return;
        try
        {
            await restore(current);
        }
        catch (RpcException)
        {
            // The cell is unreachable or refused: the next change sends it the whole stored row again.
        }
    }
}
