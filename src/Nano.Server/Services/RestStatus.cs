using Grpc.Core;

namespace Nano.Server.Services;

/// <summary>
/// Success statuses other than 200 that the Nano portal branches on (api-decisions.md decision 1): set when the
/// response starts, since transcoding resets a status set earlier. gRPC calls are left alone.
/// </summary>
public static class RestStatus
{
    public static void Set(ServerCallContext context, int status)
    {
        var http = context.GetHttpContext();
        if (http.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
            return;
        http.Response.OnStarting(() =>
        {
            if (http.Response.StatusCode == StatusCodes.Status200OK)
                http.Response.StatusCode = status;
            return Task.CompletedTask;
        });
    }
}
