using System.Collections.Concurrent;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Nano.Contracts.Cell.V1;
using Nano.Contracts.Replica.V1;
using Nano.Server.Cells;
using Nano.Server.Data;
using Nano.Server.Domain;
using Nano.Server.Hosting;

namespace Nano.Server.Replicas;

/// <summary>
/// This replica's calls to the others (nano.replica.v1.ReplicaService), over one channel per replica, presenting the
/// zone's replica key; over TLS the other replica must show a certificate of the zone's CA.
/// </summary>
public sealed class ReplicaClients(ReplicaRepository replicas, IOptions<NanoOptions> options) : IDisposable
{
    public const string KeyHeader = "nano-replica-key";

    /// <summary>The trailer of a RunCommand that ended because the cell's stream is not (or no longer) on the replica called.</summary>
    public const string MovedTrailer = "nano-cell-moved";

    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new();
    private string? _key;

    /// <summary>The zone's replica key (made by the first replica that needs it).</summary>
    public async Task<string> KeyAsync() => _key ??= await replicas.KeyAsync(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    /// <summary>Whether a call presents the zone's replica key.</summary>
    public async Task<bool> AdmitsAsync(ServerCallContext context) =>
        context.RequestHeaders.GetValue(KeyHeader) is { Length: > 0 } presented && Secrets.Matches(presented, await KeyAsync());

    /// <summary>
    /// Runs <paramref name="command"/> on <paramref name="cell"/> through the replica at <paramref name="url"/>, which holds
    /// its stream. A cell that is not (or no longer) there, or a replica that cannot be reached or dies meanwhile, is
    /// <see cref="CellDisconnectedException"/>: the caller finds the cell's stream again. The holder's own answers (a
    /// timeout, a refusal) come back as they are.
    /// </summary>
    public async Task<CommandResult> RunCommandAsync(string url, string cell, Command command, Func<int, Task>? progress, CancellationToken ct)
    {
        try
        {
            using var call = Client(url).RunCommand(new RunCommandRequest { Cell = cell, Command = command, LongWork = progress is not null },
                await HeadersAsync(), cancellationToken: ct);
            while (await call.ResponseStream.MoveNext(ct))
            {
                var update = call.ResponseStream.Current;
                if (update.Result is { } result)
                    return result;
                if (progress is not null)
                    await progress(update.Percent);
            }
            throw new CellDisconnectedException(cell);
        }
        catch (RpcException e) when (!ct.IsCancellationRequested && Moved(e))
        {
            throw new CellDisconnectedException(cell);
        }
    }

    /// <summary>A guest's console through the replica at <paramref name="url"/>, which holds its cell's stream.</summary>
    public async Task<AsyncDuplexStreamingCall<ConsoleRequest, ConsoleResponse>> OpenConsoleAsync(string url, string cell, Guid guest, CancellationToken ct)
    {
        var call = Client(url).Console(await HeadersAsync(), cancellationToken: ct);
        await call.RequestStream.WriteAsync(new ConsoleRequest { Target = new ConsoleTarget { Cell = cell, GuestId = guest.ToString() } }, ct);
        return call;
    }

    /// <summary>Passes a cell's push under another replica's ticket on to that replica (whose CellAgentService admits the replica key).</summary>
    public async Task<PushImageResponse> PushAsync(string url, string ticket, IAsyncStreamReader<PushImageRequest> chunks, CancellationToken ct)
    {
        using var call = new CellAgentService.CellAgentServiceClient(Channel(url)).PushImage(await HeadersAsync(), cancellationToken: ct);
        await call.RequestStream.WriteAsync(new PushImageRequest { Ticket = ticket }, ct);
        while (await chunks.MoveNext(ct))
            await call.RequestStream.WriteAsync(chunks.Current, ct);
        await call.RequestStream.CompleteAsync();
        return await call.ResponseAsync;
    }

    /// <summary>Passes a cell's fetch of a file staged under another replica's ticket on to that replica.</summary>
    public async Task FetchAsync(string url, FetchImageRequest request, IServerStreamWriter<FetchImageResponse> to, CancellationToken ct)
    {
        using var call = new CellAgentService.CellAgentServiceClient(Channel(url)).FetchImage(request, await HeadersAsync(), cancellationToken: ct);
        while (await call.ResponseStream.MoveNext(ct))
            await to.WriteAsync(call.ResponseStream.Current, ct);
    }

    /// <summary>How long the replica at <paramref name="url"/> has not heard from its stream of <paramref name="cell"/>; null when it holds none or cannot be reached.</summary>
    public async Task<TimeSpan?> SilenceAsync(string url, string cell)
    {
        try
        {
            var answer = await Client(url).DescribeCellStreamAsync(new DescribeCellStreamRequest { Cell = cell }, await HeadersAsync(),
                deadline: DateTime.UtcNow.AddSeconds(3));
            return answer.Held ? TimeSpan.FromMilliseconds(answer.SilentMs) : null;
        }
        catch (RpcException)
        {
            return null;
        }
    }

    /// <summary>Whether a failed call means the cell's stream is elsewhere now: the holder said so, or the holder could not be reached.</summary>
    private static bool Moved(RpcException e) =>
        e.Trailers.GetValue(MovedTrailer) is not null || (e.Status.DebugException is not null && e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown);

    private async Task<Metadata> HeadersAsync() => new() { { KeyHeader, await KeyAsync() } };

    private ReplicaService.ReplicaServiceClient Client(string url) => new(Channel(url));

    private GrpcChannel Channel(string url) => _channels.GetOrAdd(url, Open);

    private GrpcChannel Open(string url)
    {
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(3),
            EnableMultipleHttp2Connections = true,
        };
        if (options.Value.TlsFolder.Length > 0)
            handler.SslOptions.RemoteCertificateValidationCallback = Nano.Tls.ZoneCertificates.ServerCheck(Path.Combine(options.Value.TlsFolder, ServerTls.AuthorityFile));
        return GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = 8 << 20 });
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
            channel.Dispose();
    }
}
