using Grpc.Core;

namespace Nano.Server.Hosting;

/// <summary>
/// The call context a server stream's handler sees: the call's own, except that its cancellation token also fires
/// when the stream's session ends (<see cref="SessionInterceptor"/>). Everything else is the call's.
/// </summary>
internal sealed class SessionBoundCallContext : ServerCallContext
{
    /// <summary>Where Grpc.AspNetCore's GetHttpContext() looks for the HttpContext of a context it did not make.</summary>
    private const string HttpContextKey = "__HttpContext";

    private readonly ServerCallContext _call;
    private readonly CancellationToken _token;

    public SessionBoundCallContext(ServerCallContext call, CancellationToken token)
    {
        _call = call;
        _token = token;
        call.UserState[HttpContextKey] = call.GetHttpContext();
    }

    protected override string MethodCore => _call.Method;
    protected override string HostCore => _call.Host;
    protected override string PeerCore => _call.Peer;
    protected override DateTime DeadlineCore => _call.Deadline;
    protected override Metadata RequestHeadersCore => _call.RequestHeaders;
    protected override CancellationToken CancellationTokenCore => _token;
    protected override Metadata ResponseTrailersCore => _call.ResponseTrailers;
    protected override AuthContext AuthContextCore => _call.AuthContext;
    protected override IDictionary<object, object> UserStateCore => _call.UserState;

    protected override Status StatusCore
    {
        get => _call.Status;
        set => _call.Status = value;
    }

    protected override WriteOptions? WriteOptionsCore
    {
        get => _call.WriteOptions;
        set => _call.WriteOptions = value;
    }

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => _call.WriteResponseHeadersAsync(responseHeaders);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        _call.CreatePropagationToken(options);
}
