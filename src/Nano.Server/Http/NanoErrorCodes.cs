using Grpc.Core;

namespace Nano.Server.Http;

/// <summary>The error_code a REST failure carries: the HTTP status its gRPC status stands for.</summary>
public static class NanoErrorCodes
{
    public static int FromGrpc(StatusCode code) => code switch
    {
        StatusCode.InvalidArgument or StatusCode.OutOfRange => 400,
        StatusCode.Unauthenticated => 401,
        StatusCode.PermissionDenied => 403,
        StatusCode.NotFound => 404,
        StatusCode.AlreadyExists or StatusCode.Aborted => 409,
        StatusCode.FailedPrecondition => 412,
        StatusCode.ResourceExhausted => 429,
        StatusCode.Unimplemented => 501,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => 503,
        _ => 500,
    };

    /// <summary>For failures routing or Kestrel produce before any RPC ran.</summary>
    public static (int Code, string Message) FromHttp(int status, HttpRequest request) => status switch
    {
        404 => (404, $"no route {request.Method} {request.Path}"),
        405 => (405, $"method {request.Method} is not allowed on {request.Path}"),
        413 => (400, "request body too large"),
        415 => (400, $"unsupported content type '{request.ContentType}'"),
        >= 400 and < 500 => (400, $"bad request ({status})"),
        _ => (500, $"internal error ({status})"),
    };
}
