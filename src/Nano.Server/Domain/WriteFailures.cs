using Grpc.Core;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Domain;

/// <summary>
/// Turns what a repository reports of a write into the failure the caller sees: each outcome the caller
/// expects is given its message; an outcome it did not name is a defect of the server (internal error).
/// </summary>
public static class WriteFailures
{
    public static void OrFail(this Written written, string? missing = null, string? exists = null, string? inUse = null,
        string? unchanged = null, string? busy = null)
    {
        if (written.Outcome == WriteOutcome.Done)
            return;
        throw written.Outcome switch
        {
            WriteOutcome.Missing when missing is not null => Fail.NotFound(missing),
            WriteOutcome.Exists when exists is not null => Fail.Exists(exists),
            WriteOutcome.InUse when inUse is not null => Fail.Precondition(inUse),
            WriteOutcome.Unchanged when unchanged is not null => Fail.Precondition(unchanged),
            WriteOutcome.Busy when busy is not null => Fail.Precondition(busy),
            _ => new RpcException(new Status(StatusCode.Internal, $"unexpected outcome of a write: {written.Outcome} {written.Cause}".TrimEnd())),
        };
    }

    /// <summary><see cref="OrFail(Written,string?,string?,string?,string?,string?)"/> of a write still running.</summary>
    public static async Task OrFail(this Task<Written> write, string? missing = null, string? exists = null, string? inUse = null,
        string? unchanged = null, string? busy = null) =>
        (await write).OrFail(missing, exists, inUse, unchanged, busy);
}
