using Grpc.Core;
using Microsoft.Extensions.Options;
using Nano.Contracts.V1;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;
using Nano.Server.Http;
using Nano.Server.Domain.Rules;

namespace Nano.Server.Services;

/// <summary>Log in, keep alive, inspect, list and log out sessions.</summary>
public sealed class SessionService(
    UserRepository users, SessionRepository sessions, LogRepository logs, LoginLimiter limiter, IOptions<NanoOptions> options,
    ILogger<SessionService> logger)
    : Contracts.V1.SessionService.SessionServiceBase
{
    private TimeSpan Timeout => TimeSpan.FromSeconds(options.Value.SessionTimeoutSeconds);

    public override async Task<CreateSessionResponse> CreateSession(CreateSessionRequest request, ServerCallContext context)
    {
        var address = ClientAddress.Of(context.GetHttpContext(), options.Value.TrustedProxyList);
        var name = IdentityRules.Text("user", request.User, IdentityRules.MaxNameLength);
        var password = IdentityRules.Text("password", request.Password, IdentityRules.MaxPasswordLength);
        var nonce = IdentityRules.Text("nonce", request.Nonce);
        await limiter.AdmitAsync(address, name);
        var user = name.Length == 0 ? null : await users.FindAsync(name);
        if (!PasswordHasher.Verify(password, user?.PasswordHash))
        {
            var locks = await limiter.FailedAsync(address, name);
            await LogAsync($"login failed for user '{name}' from {address}" + (locks ? ": further logins refused for a while" : ""));
            throw Fail.Unauthenticated("invalid user or password");
        }
        if (user!.GroupName is null)
            throw Fail.Precondition($"user '{user.Name}' is not in any user group");
        var id = Guid.NewGuid().ToString();
        await sessions.CreateAsync(id, user.Name, nonce, address, Timeout);
        var live = await sessions.FindLiveAsync(id) ?? throw Fail.Unauthenticated("the new session expired at once");
        return new CreateSessionResponse
        {
            Data = new LoginResult
            {
                Session = id,
                Timeout = options.Value.SessionTimeoutSeconds,
                Group = user.GroupName,
                Menu = { live.Menu },
                Address = address,
            },
        };
    }

    /// <summary>A line of the operation log; a second whose ids ran out loses it to the server's own log, never the answer.</summary>
    private async Task LogAsync(string line)
    {
        if (await logs.AddAsync(DateTime.Now, line) is null)
            logger.LogWarning("Operation log full for this second; not logged there: {Line}", line);
    }

    public override async Task<KeepSessionAliveResponse> KeepSessionAlive(KeepSessionAliveRequest request, ServerCallContext context)
    {
        DemandOwnOrAdministered(request.SessionId, context);
        if (!await sessions.TouchAsync(request.SessionId, Timeout))
            throw Fail.NotFound($"invalid session '{request.SessionId}'");
        return new KeepSessionAliveResponse();
    }

    public override async Task<GetSessionResponse> GetSession(GetSessionRequest request, ServerCallContext context)
    {
        DemandOwnOrAdministered(request.SessionId, context);
        var row = await sessions.FindLiveAsync(request.SessionId) ?? throw Fail.NotFound($"invalid session '{request.SessionId}'");
        return new GetSessionResponse
        {
            Data = new SessionInfo
            {
                User = row.UserName,
                Group = row.GroupName ?? "",
                Address = row.Address,
                Menu = { row.Menu },
                Timeout = options.Value.SessionTimeoutSeconds,
            },
        };
    }

    /// <summary>Session ids are credentials: only user administrators see all of them, others their own.</summary>
    public override async Task<ListSessionsResponse> ListSessions(ListSessionsRequest request, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        var ids = AccessRules.SeesEverything(session) ? await sessions.ListLiveIdsAsync() : [session.Id];
        return new ListSessionsResponse { Data = { ids } };
    }

    public override async Task<DeleteSessionResponse> DeleteSession(DeleteSessionRequest request, ServerCallContext context)
    {
        DemandOwnOrAdministered(request.SessionId, context);
        if (!await sessions.DeleteAsync(request.SessionId))
            throw Fail.NotFound($"invalid session '{request.SessionId}'");
        return new DeleteSessionResponse();
    }

    private static void DemandOwnOrAdministered(string sessionId, ServerCallContext context)
    {
        var session = SessionInterceptor.SessionOf(context);
        if (sessionId != session.Id)
            AccessRules.Demand(session, AccessRules.UserMenu);
    }
}
