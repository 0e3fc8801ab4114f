using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Nano.Contracts.Cell.V1;
using Nano.Server.Cells.Events;
using Nano.Server.Data;
using Nano.Server.Hosting;
using Nano.Server.Domain;
using Nano.Server.Domain.Rules;
using Nano.Server.Replicas;
using Npgsql;

namespace Nano.Server.Cells;

/// <summary>
/// The server end of every agent stream: admits agents (join token, protocol version), routes commands to them and
/// their results back, and hands each event an agent reports to its handler in <c>Cells/Events</c> (one per kind).
/// </summary>
public sealed class CellGateway
{
    /// <summary>The protocol version this server speaks.</summary>
    public const int ProtocolVersion = (int)Contracts.Cell.V1.ProtocolVersion.Current;

    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, CellConnection> _connections = new();
    private readonly HelloReceived helloReceived;
    private readonly HeartbeatReceived heartbeatReceived;
    private readonly MetricsReceived metricsReceived;
    private readonly DomainChanged domainChanged;
    private readonly CellDeparting cellDeparting;
    private readonly CellLeft cellLeft;
    private readonly CellStatusFeed feed;
    private readonly CellIdentity identity;
    private readonly SystemRepository system;
    private readonly ReplicaRepository replicas;
    private readonly ReplicaClients others;
    private readonly ReplicaIdentity self;
    private readonly ReplicaSignals signals;
    private readonly IServiceProvider services;
    private readonly IHostApplicationLifetime lifetime;
    private readonly IOptions<NanoOptions> options;
    private readonly ILogger<CellGateway> logger;

    public CellGateway(
        HelloReceived helloReceived, HeartbeatReceived heartbeatReceived, MetricsReceived metricsReceived, DomainChanged domainChanged,
        CellDeparting cellDeparting, CellLeft cellLeft, CellStatusFeed feed, CellIdentity identity, SystemRepository system, ReplicaRepository replicas,
        ReplicaClients others, ReplicaIdentity self, ReplicaSignals signals, IServiceProvider services, IHostApplicationLifetime lifetime,
        IOptions<NanoOptions> options, ILogger<CellGateway> logger)
    {
        (this.helloReceived, this.heartbeatReceived, this.metricsReceived, this.domainChanged, this.cellDeparting, this.cellLeft) =
            (helloReceived, heartbeatReceived, metricsReceived, domainChanged, cellDeparting, cellLeft);
        (this.feed, this.identity, this.system, this.replicas, this.others, this.self, this.signals) = (feed, identity, system, replicas, others, self, signals);
        (this.services, this.lifetime, this.options, this.logger) = (services, lifetime, options, logger);
        // A cell's agent opened a stream on another replica: a stream of it held here that its row no longer names is one
        // its agent left. (Signals arrive late: the row, not the signal, says which stream is the newest.)
        signals.On(ReplicaSignals.Streams, payload =>
        {
            if (payload.Split('|') is [var cell, var from] && from != self.Id.ToString("N") && _connections.ContainsKey(cell))
                _ = CloseIfReplacedAsync(cell);
        });
    }

    private async Task CloseIfReplacedAsync(string cell)
    {
        try
        {
            if (_connections.TryGetValue(cell, out var held) && await replicas.CellStreamAsync(cell) is { } newest && newest != held.Id &&
                _connections.TryRemove(new KeyValuePair<string, CellConnection>(cell, held)))
            {
                logger.LogInformation("Cell {Cell} opened a stream on another replica: its stream here is closed", cell);
                held.Close();
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            // the stream goes when it falls silent instead
        }
    }

    /// <summary>Whether this replica holds a stream of <paramref name="cell"/>.</summary>
    public bool HoldsStream(string cell) => _connections.ContainsKey(cell);

    /// <summary>How long this replica's stream of <paramref name="cell"/> has been silent; null when it holds none.</summary>
    public TimeSpan? Silence(string cell) => _connections.TryGetValue(cell, out var connection) ? DateTime.UtcNow - connection.LastHeard : null;

    /// <summary>Whether the cell's agent holds a stream, to this replica or to another live one.</summary>
    public async Task<bool> IsConnectedAsync(string cell) => await LocateAsync(cell) is not null;

    /// <summary>The progress handler of long work whose percent nobody shows: the wait lasts as long as the cell keeps reporting.</summary>
    public static readonly Func<int, Task> LongWork = _ => Task.CompletedTask;

    /// <summary>How long a command that reports progress may run in all (the agent abandons it then).</summary>
    private static readonly TimeSpan LongCommandLimit = TimeSpan.FromHours(6);

    /// <summary>
    /// Sends a command to a connected cell and waits for its result: at most the configured timeout or,
    /// for long work that reports <paramref name="progress"/>, as long as reports keep coming. The cell's stream may be
    /// held by another replica: the command goes through it (<see cref="ReplicaClients"/>). When the stream breaks
    /// meanwhile (the agent reconnects, here or to another replica; the replica holding it dies) and the cell connects
    /// again before the command's deadline (within twice the liveness timeout), the same command, under the same id, goes
    /// to the new stream: the agent keeps working on a command past a broken stream and answers a repeated id from what
    /// it did, so the work is finished rather than undone.
    /// </summary>
    public async Task<CommandResult> SendAsync(string cell, Command command, CancellationToken cancellationToken, Func<int, Task>? progress = null)
    {
        var stream = await LocateAsync(cell) ?? throw new RpcException(new Status(StatusCode.Unavailable, $"cell '{cell}' is not connected"));
        var deadline = DateTime.UtcNow + (progress is null ? TimeSpan.FromSeconds(options.Value.CellCommandTimeoutSeconds) : LongCommandLimit);
        command.Id = Guid.NewGuid().ToString();
        command.Deadline = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(deadline);
        while (true)
        {
            try
            {
                return stream.Local is { } connection
                    ? await RunOnAsync(connection, command, progress, cancellationToken)
                    : await others.RunCommandAsync(stream.ReplicaUrl!, cell, command, progress, cancellationToken);
            }
            catch (CellDisconnectedException)
            {
                var until = DateTime.UtcNow.AddSeconds(2 * options.Value.CellLivenessSeconds);
                var back = await StreamAsync(cell, stream.Id, until < deadline ? until : deadline, cancellationToken);
                if (back is null)
                    throw;
                logger.LogInformation("Cell {Cell} is back: its {Kind} command {Id} is sent again", cell, command.BodyCase, command.Id);
                stream = back;
            }
        }
    }

    /// <summary>
    /// Runs a command another replica sends for a cell whose stream this one holds (its id and deadline set there);
    /// <see cref="CellDisconnectedException"/> when it holds none, or the stream breaks first.
    /// </summary>
    public Task<CommandResult> RunHereAsync(string cell, Command command, Func<int, Task>? progress, CancellationToken cancellationToken) =>
        _connections.TryGetValue(cell, out var connection)
            ? RunOnAsync(connection, command, progress, cancellationToken)
            : throw new CellDisconnectedException(cell);

    /// <summary>Waits for the result on a stream this replica holds: within the plain or the progress timeout, never past the command's deadline.</summary>
    private Task<CommandResult> RunOnAsync(CellConnection connection, Command command, Func<int, Task>? progress, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(progress is null ? options.Value.CellCommandTimeoutSeconds : options.Value.CellProgressTimeoutSeconds);
        var left = command.Deadline is null ? timeout : command.Deadline.ToDateTime() - DateTime.UtcNow;
        return connection.RunAsync(command, TimeSpan.FromTicks(Math.Clamp(left.Ticks, 0, timeout.Ticks)), cancellationToken, progress);
    }

    /// <summary>Waits until <paramref name="cell"/> is connected; false when it is not by <paramref name="until"/>.</summary>
    public async Task<bool> WaitConnectedAsync(string cell, DateTime until, CancellationToken cancellationToken) =>
        await StreamAsync(cell, null, until, cancellationToken) is not null;

    /// <summary>A stream of a cell: held here (<see cref="Local"/>), or by the replica at <see cref="ReplicaUrl"/>.</summary>
    private sealed record CellStream(Guid Id, CellConnection? Local, string? ReplicaUrl);

    /// <summary>The cell's stream: this replica's, else the one its row names on another live replica; null when it has none.</summary>
    private async Task<CellStream?> LocateAsync(string cell)
    {
        if (_connections.TryGetValue(cell, out var local))
            return new CellStream(local.Id, local, null);
        return await HeldElsewhereAsync(cell) is { } remote ? new CellStream(remote.Stream, null, remote.GrpcUrl) : null;
    }

    /// <summary>The cell's stream as its row names it on another live replica (with where that replica is); null when none.</summary>
    public Task<CellStreamRow?> HeldElsewhereAsync(string cell) => replicas.FindCellStreamAsync(cell, self.Id, self.Liveness);

    /// <summary>The cell's stream, once it has one other than <paramref name="gone"/>; null when none came by <paramref name="until"/>.</summary>
    private async Task<CellStream?> StreamAsync(string cell, Guid? gone, DateTime until, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await LocateAsync(cell) is { } stream && stream.Id != gone)
                return stream;
            if (DateTime.UtcNow >= until)
                return null;
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Sends a command that must succeed: a cell's refusal becomes FAILED_PRECONDITION with its reason.</summary>
    public async Task<CommandResult> RunAsync(string cell, Command command, CancellationToken cancellationToken, Func<int, Task>? progress = null)
    {
        var result = await SendAsync(cell, command, cancellationToken, progress);
        return result.Error.Length == 0 ? result : throw Fail.Precondition($"cell '{cell}': {result.Error}");
    }

    /// <summary>Drops the stream of a cell that fell silent (one opened before <paramref name="since"/>); its agent reconnects on its own.</summary>
    public void Drop(string cell, DateTime since)
    {
        if (_connections.TryGetValue(cell, out var connection) && connection.OpenedAt <= since.ToUniversalTime() &&
            _connections.TryRemove(new KeyValuePair<string, CellConnection>(cell, connection)))
            connection.Close();
    }

    /// <summary>Drops the streams this replica holds of cells not heard from within <paramref name="liveness"/>; their agents reconnect.</summary>
    public void DropSilent(TimeSpan liveness)
    {
        foreach (var (cell, connection) in _connections)
        {
            if (DateTime.UtcNow - connection.LastHeard > liveness && _connections.TryRemove(new KeyValuePair<string, CellConnection>(cell, connection)))
            {
                logger.LogWarning("Cell {Cell} fell silent on its stream: dropped", cell);
                connection.Close();
            }
        }
    }

    public async Task ServeAsync(IAsyncStreamReader<ConnectRequest> requests, IServerStreamWriter<ConnectResponse> responses, ServerCallContext context)
    {
        var hello = await ReadHelloAsync(requests, context);
        // A stopping server ends agent streams at once (they would hold up shutdown); agents reconnect.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var zone = await system.ZoneIdAsync();
        var connection = new CellConnection(hello.Name, ending.Token);
        // The welcome is queued first, and the stream takes commands before the cell shows as alive in the
        // database: a client that sees it there can send it work at once.
        connection.Send(new ConnectResponse
        {
            Welcome = new Welcome
            {
                ProtocolVersion = ProtocolVersion,
                HeartbeatIntervalMs = options.Value.CellHeartbeatIntervalMs,
                MetricsIntervalMs = options.Value.CellMetricsIntervalMs,
                Zone = zone.ToString(),
            },
        });
        // With certificates, a cell whose stream is alive keeps it, here or on another replica: a second stream under its
        // name is refused (its agent, reconnecting after a broken link, is admitted once the old stream is silent or its
        // replica gone).
        if (identity.CertificatesRequired && await LiveStreamElsewhereAsync(hello.Name) is { } silence &&
            silence < TimeSpan.FromSeconds(options.Value.CellLivenessSeconds))
        {
            logger.LogWarning("Refused a second stream of cell {Cell} from {Peer}: its stream is alive", hello.Name, context.Peer);
            throw Fail.Exists($"cell '{hello.Name}' is connected on a live stream");
        }
        if (_connections.TryGetValue(hello.Name, out var previous))
            logger.LogWarning("Cell {Cell} connected again; the newer stream replaces the older one", hello.Name);
        _connections[hello.Name] = connection;
        previous?.Close();
        try
        {
            await helloReceived.HandleAsync(hello, connection.Id);
            await signals.NotifyAsync(ReplicaSignals.Streams, $"{hello.Name}|{self.Id:N}");
        }
        catch
        {
            _connections.TryRemove(new KeyValuePair<string, CellConnection>(hello.Name, connection));
            connection.Close();
            throw;
        }
        logger.LogInformation("Cell {Cell} ({Address}) joined: {Cores} cores, {Memory} bytes, {Hypervisor} {Version}, {Domains} domains",
            hello.Name, hello.Address, hello.Cores, hello.Memory, hello.Hypervisor, hello.HypervisorVersion, hello.Domains.Count);
        feed.Publish(hello.Name);
        var pump = connection.PumpAsync(responses);
        var events = ApplyEventsAsync(connection);
        _ = RejoinAsync(hello.Name, [.. hello.Domains], connection.Closed);
        try
        {
            while (await requests.MoveNext(connection.Closed))
                await HandleAsync(connection, requests.Current);
        }
        catch (OperationCanceledException) when (connection.Closed.IsCancellationRequested)
        {
        }
        catch (IOException e)
        {
            logger.LogInformation("Cell {Cell} stream broke: {Reason}", hello.Name, e.Message);
        }
        finally
        {
            // A stream this replica ends because it stops is no sign of the cell: its agent moves to another replica,
            // and the cell stays alive meanwhile (the leader marks it offline if it does not come back in time).
            if (_connections.TryRemove(new KeyValuePair<string, CellConnection>(hello.Name, connection)) && !lifetime.ApplicationStopping.IsCancellationRequested)
                await cellLeft.HandleAsync(hello.Name, connection.Id);
            connection.Close();
            connection.Events.Writer.TryComplete();
            await pump;
            await events;
        }
    }

    /// <summary>How long the cell's current stream, here or on another live replica, has been silent; null when it has none.</summary>
    private async Task<TimeSpan?> LiveStreamElsewhereAsync(string cell)
    {
        if (Silence(cell) is { } here)
            return here;
        return await HeldElsewhereAsync(cell) is { } remote ? await others.SilenceAsync(remote.GrpcUrl, cell) : null;
    }

    /// <summary>Applies the cell's domain events in order until its stream ends; one that fails is logged and skipped.</summary>
    private async Task ApplyEventsAsync(CellConnection connection)
    {
        await foreach (var change in connection.Events.Reader.ReadAllAsync())
        {
            try
            {
                await domainChanged.HandleAsync(connection.Cell, change);
            }
            catch (Exception e)
            {
                logger.LogWarning("Applying {Kind} of guest {Guest} from cell {Cell} failed: {Reason}", change.Kind, change.GuestId, connection.Cell, e.Message);
            }
        }
    }

    /// <summary>Runs the join handler beside the stream (it sends commands, whose results this stream carries).</summary>
    private async Task RejoinAsync(string cell, IReadOnlyList<DomainReport> domains, CancellationToken cancellationToken)
    {
        try
        {
            // Resolved here: the handler sends commands through this gateway.
            await services.GetRequiredService<CellJoined>().HandleAsync(cell, domains, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("Re-attaching cell {Cell} failed: {Reason}", cell, e.Message);
        }
    }

    private async Task HandleAsync(CellConnection connection, ConnectRequest message)
    {
        connection.LastHeard = DateTime.UtcNow;
        switch (message.BodyCase)
        {
            case ConnectRequest.BodyOneofCase.Heartbeat:
                heartbeatReceived.Handle(connection, message.Heartbeat);
                break;
            case ConnectRequest.BodyOneofCase.Metrics:
                metricsReceived.Handle(connection, message.Metrics);
                break;
            case ConnectRequest.BodyOneofCase.Result:
                connection.Complete(message.Result);
                break;
            case ConnectRequest.BodyOneofCase.DomainEvent:
                connection.Events.Writer.TryWrite(message.DomainEvent);
                break;
            case ConnectRequest.BodyOneofCase.Progress:
                connection.Progress(message.Progress);
                break;
            case ConnectRequest.BodyOneofCase.Goodbye:
                await cellDeparting.HandleAsync(connection.Cell, message.Goodbye.Reason);
                break;
            default:
                logger.LogWarning("Cell {Cell} sent an unexpected {Kind}", connection.Cell, message.BodyCase);
                break;
        }
    }

    private async Task<Hello> ReadHelloAsync(IAsyncStreamReader<ConnectRequest> requests, ServerCallContext context)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(HelloTimeout);
        bool received;
        try
        {
            received = await requests.MoveNext(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "no hello within 10 s"));
        }
        if (!received || requests.Current.BodyCase != ConnectRequest.BodyOneofCase.Hello)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message must be a hello"));
        var hello = requests.Current.Hello;
        var peer = context.Peer;
        if (identity.CertificatesRequired)
        {
            // Over TLS the cell is who its certificate says, and speaks under that name only.
            var certified = await identity.RequireCellAsync(context);
            if (certified != hello.Name)
            {
                logger.LogWarning("Refused cell agent '{Cell}' from {Peer}: it holds the certificate of cell '{Certified}'", hello.Name, peer, certified);
                throw Fail.Denied($"the certificate of cell '{certified}' does not admit cell '{hello.Name}'");
            }
        }
        else if (!TokenMatches(hello.Token))
        {
            logger.LogWarning("Refused cell agent '{Cell}' from {Peer}: bad join token", hello.Name, peer);
            throw new RpcException(new Status(StatusCode.Unauthenticated, "bad join token"));
        }
        if (hello.ProtocolVersion != ProtocolVersion)
        {
            logger.LogWarning("Refused cell agent '{Cell}' from {Peer}: protocol {Version}", hello.Name, peer, hello.ProtocolVersion);
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"agent protocol version {hello.ProtocolVersion} is not supported: this server speaks version {ProtocolVersion}"));
        }
        InputRules.Name("cell", hello.Name);
        if (hello.Cpus.Any(cpu => !CpuRules.IsDefinition(cpu)) || hello.Cpus.Count > 256 || hello.CpuSignature.Length > 64)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the cell's CPU definitions are not plain model names"));
        if (!Ipv4.TryParse(hello.Address, out _))
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"cell address '{hello.Address}' is not an IPv4 address"));
        return hello;
    }

    /// <summary>Whether a presented join token is this zone's (also for the image transfers agents make).</summary>
    public bool TokenMatches(string presented) => Secrets.Matches(presented, options.Value.CellToken);

}
