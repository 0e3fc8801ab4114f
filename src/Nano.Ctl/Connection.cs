using Grpc.Core;
using Grpc.Net.Client;

namespace Nano.Ctl;

/// <summary>
/// A gRPC channel to the server (its gRPC port), trusting the zone's CA when one is given, and the calls' session. Each
/// command extends the session when it starts and, while it runs, every minute (a session ends 180 s after its last
/// keep-alive; an upload or a watch may last longer).
/// </summary>
public sealed class Connection : IAsyncDisposable
{
    private static readonly TimeSpan KeepAliveEvery = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _keepAlive = Task.CompletedTask;

    private Connection(GrpcChannel channel, string session)
    {
        Channel = channel;
        Session = session;
        if (session.Length > 0)
            _keepAlive = KeepAliveAsync();
    }

    public GrpcChannel Channel { get; }

    public string Session { get; }

    public static Connection Open(string server, string caFile, string session = "")
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (caFile.Length > 0)
            handler.SslOptions.RemoteCertificateValidationCallback = Tls.ZoneCertificates.ServerCheck(caFile);
        return new Connection(GrpcChannel.ForAddress(server, new GrpcChannelOptions { HttpHandler = handler }), session);
    }

    public static Connection Open(SavedSession saved) => Open(saved.Server, saved.CaFile, saved.Session);

    /// <summary>Call options carrying the session (gRPC metadata keys are lowercase: "nano-session").</summary>
    public CallOptions Call(CancellationToken cancel = default) =>
        new(Session.Length > 0 ? new Metadata { { "nano-session", Session } } : [], cancellationToken: cancel);

    /// <summary>Extends the session once (throws UNAUTHENTICATED, saying so, when it expired).</summary>
    public async Task KeepAliveAsync(CancellationToken cancel) =>
        await new Contracts.V1.SessionService.SessionServiceClient(Channel).KeepSessionAliveAsync(
            new Contracts.V1.KeepSessionAliveRequest { SessionId = Session }, Call(cancel));

    private async Task KeepAliveAsync()
    {
        using var timer = new PeriodicTimer(KeepAliveEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                try
                {
                    await KeepAliveAsync(_stop.Token);
                }
                catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
                {
                    // The command's own calls will say what is wrong.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _keepAlive;
        Channel.Dispose();
        _stop.Dispose();
    }
}
