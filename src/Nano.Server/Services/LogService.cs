using System.Globalization;
using Grpc.Core;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>The operation log: query, append, delete by id.</summary>
public sealed class LogService(LogRepository logs) : Contracts.V1.LogService.LogServiceBase
{
    /// <summary>The failure when a second has used all its log ids.</summary>
    public const string LogFull = "too many log entries in one second";

    private const int DefaultLimit = 20;
    private const int MaxLimit = 100;
    private const int MaxContentLength = 4096;

    public override async Task<QueryLogsResponse> QueryLogs(QueryLogsRequest request, ServerCallContext context)
    {
        var before = string.IsNullOrEmpty(request.Before) ? DateTime.Now : ParseTime("before", request.Before);
        var after = string.IsNullOrEmpty(request.After) ? before.AddHours(-24) : ParseTime("after", request.After);
        if (before < after)
            throw Fail.Invalid("before is earlier than after");
        if (request.Start < 0)
            throw Fail.Invalid("start must not be negative");
        var limit = request.Limit is <= 0 or > MaxLimit ? DefaultLimit : request.Limit;
        var (entries, total) = await logs.QueryAsync(after, before, request.Start, limit);
        return new QueryLogsResponse
        {
            Data = new LogQueryResult
            {
                Total = total,
                Logs = { entries.Select(e => new LogEntry { Id = e.Id, Time = NanoTime.Print(e.LoggedAt), Content = e.Content }) },
            },
        };
    }

    public override async Task<AddLogResponse> AddLog(AddLogRequest request, ServerCallContext context)
    {
        var content = request.Content ?? "";
        if (content.Length == 0)
            throw Fail.Invalid("content is required");
        if (content.Length > MaxContentLength)
            throw Fail.Invalid($"content is longer than {MaxContentLength} characters");
        _ = await logs.AddAsync(DateTime.Now, content) ?? throw Fail.Conflict(LogFull);
        return new AddLogResponse();
    }

    /// <summary>Every id must be 17 digits led by a valid time, and its day must hold entries; absent ids of such a day are ignored.</summary>
    public override async Task<DeleteLogsResponse> DeleteLogs(DeleteLogsRequest request, ServerCallContext context)
    {
        if (request.Entries.Count == 0)
            throw Fail.Invalid("entries is empty");
        foreach (var id in request.Entries)
        {
            if (id.Length != 17 || !id.All(char.IsAsciiDigit) ||
                !DateTime.TryParseExact(id[..14], "yyyyMMddHHmmss", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
                throw Fail.Invalid($"invalid log entry id '{(id.Length > 32 ? id[..32] + "..." : id)}'");
        }
        var ids = request.Entries.Distinct().ToArray();
        var empty = await logs.EmptyDaysAsync(ids.Select(i => i[..8]).Distinct().ToArray());
        if (empty.Count > 0)
            throw Fail.NotFound($"no log entries on {empty[0]}");
        await logs.DeleteAsync(ids);
        return new DeleteLogsResponse();
    }

    private static DateTime ParseTime(string field, string text) =>
        NanoTime.TryParse(text, out var time) ? time : throw Fail.Invalid($"{field} must be YYYY-MM-DD HH:MM:SS, not '{text}'");
}
