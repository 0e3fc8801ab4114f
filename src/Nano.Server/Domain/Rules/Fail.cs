using Grpc.Core;

namespace Nano.Server.Domain.Rules;

/// <summary>The failures the API answers, as gRPC statuses (REST turns them into the envelope).</summary>
public static class Fail
{
    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException Exists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException Conflict(string message) => new(new Status(StatusCode.Aborted, message));

    public static RpcException Precondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException Unauthenticated(string message) => new(new Status(StatusCode.Unauthenticated, message));

    public static RpcException Denied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    /// <summary>A fault: something the request needs (a cell, disk space) is not there now (REST 503).</summary>
    public static RpcException Unavailable(string message) => new(new Status(StatusCode.Unavailable, message));

    /// <summary>A fault: the other side went quiet for too long (REST 503).</summary>
    public static RpcException TimedOut(string message) => new(new Status(StatusCode.DeadlineExceeded, message));

    /// <summary>What a failure says, for an operation's error or a log line: a status's detail, else the exception's message.</summary>
    public static string Reason(Exception e) => e is RpcException r ? r.Status.Detail : e.Message;

    /// <summary>Too many attempts (failed logins): REST error_code 429.</summary>
    public static RpcException TooMany(string message) => new(new Status(StatusCode.ResourceExhausted, message));
}
