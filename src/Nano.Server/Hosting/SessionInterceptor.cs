using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;
using Nano.Server.Replicas;

namespace Nano.Server.Hosting;

/// <summary>
/// Admits a call to a nano.v1 RPC only with a live session (header or metadata "Nano-Session") and,
/// for changes, the menu its area needs (<see cref="AccessRules"/>). The same check guards gRPC and
/// transcoded REST calls. Other services (reflection, health) pass untouched. A server stream (a watcher, a download)
/// outlives no session: it checks its session every <see cref="NanoOptions.StreamSessionCheckSeconds"/> and ends
/// UNAUTHENTICATED once the session expired or was logged out.
/// </summary>
public sealed class SessionInterceptor(
    SessionRepository sessions, SessionCache cache, ReadCache reads, ReplicaSignals signals, IOptions<NanoOptions> options, ILogger<SessionInterceptor> logger)
    : Interceptor
{
    /// <summary>The services whose changes can end or narrow sessions, or change the lists <see cref="ReadCache"/> keeps.</summary>
    private static readonly HashSet<string> IdentityServices =
        ["nano.v1.SessionService", "nano.v1.UserService", "nano.v1.UserGroupService", "nano.v1.RoleService", "nano.v1.SystemService"];

    public const string Header = "Nano-Session";
    private const string ItemKey = "nano.session";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AdmitAsync(context);
        try
        {
            return await continuation(request, context);
        }
        finally
        {
            await ForgetIdentityChangesAsync(context);
        }
    }

    /// <summary>
    /// After a change to sessions, users, groups or roles through this replica (even one that failed half-way), nothing
    /// this replica keeps of them is trusted, at once; and the call returns only once every live replica has handled the
    /// database's signal of it (a logout on one replica is refused on the next call to any other). A login is no such change.
    /// </summary>
    private async Task ForgetIdentityChangesAsync(ServerCallContext context)
    {
        if (ApiCatalog.Methods.TryGetValue(context.Method, out var method) && method.Changes && IdentityServices.Contains(method.Service) &&
            method.Name != "CreateSession")
        {
            cache.ForgetAll();
            reads.ForgetAll();
            await signals.BarrierAsync(TimeSpan.FromSeconds(1));
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (await AdmitAsync(context) is not { } session)
        {
            await continuation(request, responseStream, context);
            return;
        }
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var watch = WatchAsync(session.Id, ended);
        try
        {
            await continuation(request, responseStream, new SessionBoundCallContext(context, ended.Token));
        }
        catch (Exception) when (watch.IsCompleted && watch.Result is not null)
        {
        }
        finally
        {
            await ended.CancelAsync();
        }
        if (await watch is { } reason)
            throw Fail.Unauthenticated(reason);
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

    /// <summary>Admits the call; the session it runs under, or null for an anonymous RPC or another service.</summary>
    private async Task<SessionContext?> AdmitAsync(ServerCallContext context)
    {
        if (!ApiCatalog.Methods.TryGetValue(context.Method, out var method) || AccessRules.IsAnonymous(method))
            return null;
        var session = await AuthenticateAsync(context.GetHttpContext().Request.Headers[Header].ToString());
        if (AccessRules.RequiredMenu(method) is { } menu)
            AccessRules.Demand(session, menu);
        context.UserState[ItemKey] = session;
        return session;
    }

    /// <summary>
    /// Until <paramref name="ended"/> is cancelled, checks that the session is live; when it is not, cancels
    /// <paramref name="ended"/> and returns why. A check that fails (the database away) is skipped: a fault is no logout.
    /// </summary>
    private async Task<string?> WatchAsync(string id, CancellationTokenSource ended)
    {
        var period = TimeSpan.FromSeconds(Math.Max(1, options.Value.StreamSessionCheckSeconds));
        try
        {
            while (true)
            {
                await Task.Delay(period, ended.Token);
                try
                {
                    if (await cache.FindLiveAsync(id) is not null)
                        continue;
                    var reason = await WhyNotLiveAsync(id);
                    await ended.CancelAsync();
                    return reason;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogDebug(e, "A stream's session check failed; the next one tries again");
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Why a session is not live: expired (and when), or unknown (mistyped, logged out or long expired).</summary>
    private async Task<string> WhyNotLiveAsync(string id) =>
        await sessions.ExpiredAtAsync(id) is { } expired
            ? $"session '{Shorten(id)}' expired at {NanoTime.Print(expired)} ({options.Value.SessionTimeoutSeconds} s after its last use): log in again"
            : $"invalid session '{Shorten(id)}': no such session (mistyped, or logged out)";

    /// <summary>The live session a header names (for the endpoints beside the gRPC services too).</summary>
    public async Task<SessionContext> AuthenticateAsync(string? id)
    {
        if (string.IsNullOrEmpty(id))
            throw Fail.Unauthenticated("unauthenticated request: the Nano-Session header is missing");
        var row = await cache.FindLiveAsync(id) ?? throw Fail.Unauthenticated(await WhyNotLiveAsync(id));
        return new SessionContext(row.Id, row.UserName, row.GroupName ?? "", row.Address, row.Menu);
    }

    private static string Shorten(string id) => id.Length <= 64 ? id : id[..64] + "...";
}
