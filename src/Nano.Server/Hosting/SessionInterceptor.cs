using Grpc.Core;
using Grpc.Core.Interceptors;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Hosting;

/// <summary>
/// Admits a call to a nano.v1 RPC only with a live session (header or metadata "Nano-Session") and,
/// for changes, the menu its area needs (<see cref="AccessRules"/>). The same check guards gRPC and
/// transcoded REST calls. Other services (reflection, health) pass untouched.
/// </summary>
public sealed class SessionInterceptor(SessionRepository sessions) : Interceptor
{
    public const string Header = "Nano-Session";
    private const string ItemKey = "nano.session";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AdmitAsync(context);
        return await continuation(request, context);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AdmitAsync(context);
        await continuation(request, responseStream, context);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AdmitAsync(context);
        return await continuation(requestStream, context);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AdmitAsync(context);
        await continuation(requestStream, responseStream, context);
    }

    /// <summary>The session admitted for this call (only for RPCs that need one).</summary>
    public static SessionContext SessionOf(ServerCallContext context) =>
        context.UserState.TryGetValue(ItemKey, out var value) && value is SessionContext session
            ? session
            : throw new InvalidOperationException($"{context.Method} ran without an admitted session");

    private async Task AdmitAsync(ServerCallContext context)
    {
        if (!ApiCatalog.Methods.TryGetValue(context.Method, out var method) || AccessRules.IsAnonymous(method))
            return;
        var session = await AuthenticateAsync(context.GetHttpContext().Request.Headers[Header].ToString());
        if (AccessRules.RequiredMenu(method) is { } menu)
            AccessRules.Demand(session, menu);
        context.UserState[ItemKey] = session;
    }

    /// <summary>The live session a header names (for the endpoints beside the gRPC services too).</summary>
    public async Task<SessionContext> AuthenticateAsync(string? id)
    {
        if (string.IsNullOrEmpty(id))
            throw Fail.Unauthenticated("unauthenticated request: the Nano-Session header is missing");
        var row = await sessions.FindLiveAsync(id) ?? throw Fail.Unauthenticated($"invalid session '{Shorten(id)}'");
        return new SessionContext(row.Id, row.UserName, row.GroupName ?? "", row.Address, row.Menu);
    }

    private static string Shorten(string id) => id.Length <= 64 ? id : id[..64] + "...";
}
