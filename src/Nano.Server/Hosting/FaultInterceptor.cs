using Grpc.Core;
using Grpc.Core.Interceptors;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Hosting;

/// <summary>
/// Answers a fault as a fault: a database that is down answers UNAVAILABLE "database unavailable" (REST 503), logged
/// once per outage and not per request; text the database cannot store (a NUL character) answers INVALID_ARGUMENT
/// (400). Everything else stays what it is. Outermost of the interceptors, so the session check is covered too.
/// </summary>
public sealed class FaultInterceptor(ILogger<FaultInterceptor> logger) : Interceptor
{
    private int _databaseDown;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            var response = await continuation(request, context);
            Answered();
            return response;
        }
        catch (Exception e) when (Fault(e, context.Method) is { } fault)
        {
            throw fault;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception e) when (Fault(e, context.Method) is { } fault)
        {
            throw fault;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception e) when (Fault(e, context.Method) is { } fault)
        {
            throw fault;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception e) when (Fault(e, context.Method) is { } fault)
        {
            throw fault;
        }
    }

    /// <summary>The failure a fault answers with, or null for what is no fault of a dependency (left to propagate).</summary>
    public RpcException? Fault(Exception e, string where)
    {
        switch (DatabaseFaults.Classify(e))
        {
            case DatabaseFault.Unavailable:
                if (Interlocked.Exchange(ref _databaseDown, 1) == 0)
                    logger.LogError("The database is unavailable ({Reason}, first seen on {Method}); requests answer 503 until it is back", e.Message, where);
                return Fail.Unavailable("database unavailable");
            case DatabaseFault.UnstorableText:
                return Fail.Invalid("the request holds a character that cannot be stored (such as NUL)");
            default:
                return null;
        }
    }

    /// <summary>A call answered: the end of an outage, if one was seen.</summary>
    private void Answered()
    {
        if (Volatile.Read(ref _databaseDown) == 1 && Interlocked.Exchange(ref _databaseDown, 0) == 1)
            logger.LogWarning("The database answers again");
    }
}
