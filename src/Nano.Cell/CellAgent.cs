using System.Net.Sockets;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nano.Cell.Instances;
using Nano.Cell.Host;
using Nano.Cell.Hypervisor;
using Nano.Cell.Images;
using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell;

/// <summary>
/// The agent's one job: hold a stream to the server. It says hello, then sends heartbeats, metrics and
/// its domains' events, and runs the commands it receives. When the stream ends it reconnects, with
/// backoff, forever.
/// </summary>
public sealed class CellAgent(
    IOptions<AgentOptions> options, IHypervisor hypervisor, IHostProbe probe, CellStorageManager storage, ILogger<CellAgent> logger)
    : BackgroundService
{
    private readonly AgentOptions _options = options.Value;
    private CellInstances? _instances;
    private HostCpus? _cpus;
    private CommandDispatcher? _commands;
    private readonly Dictionary<string, GrpcChannel> _channels = [];
    private System.Security.Cryptography.X509Certificates.X509Certificate2? _certificate;
    private bool _enrolled;

    /// <summary>The server replicas the agent may hold its stream to (--server), and the one it dials now.</summary>
    private IReadOnlyList<string> Servers => _options.Servers;

    private volatile int _current;

    private string CurrentServer => Servers[_current % Servers.Count];

    /// <summary>The gRPC channel of the server replica dialled now: the command stream and the image transfers share it.</summary>
    private GrpcChannel ServerChannel
    {
        get
        {
            var server = CurrentServer;
            lock (_channels)
            {
                if (!_channels.TryGetValue(server, out var channel))
                    _channels[server] = channel = ServerChannels.Open(_options, server, _certificate);
                return channel;
            }
        }
    }

    private CellInstances AgentInstances => _instances ??= CreateInstances();

    private Fencing? _fencing;

    /// <summary>The outbound queue of the stream now open: results and progress of commands go there, whichever stream brought them.</summary>
    private ChannelWriter<ConnectRequest>? _outbound;

    /// <summary>The watchdog that powers guests off when the server of a failover pool stays silent (<see cref="Nano.Cell.Fencing"/>).</summary>
    private Fencing Fencing => _fencing ??= new Fencing(hypervisor, Name, logger);

    private CommandDispatcher Commands => _commands ??= new CommandDispatcher(() => AgentInstances, storage, hypervisor, probe,
        new ConsoleTunnels(() => new CellAgentService.CellAgentServiceClient(ServerChannel), _options.Token, hypervisor, logger), logger);

    private CellInstances CreateInstances()
    {
        var source = new ServerImageSource(() => new CellAgentService.CellAgentServiceClient(ServerChannel), _options.Token);
        var folder = string.IsNullOrEmpty(_options.ImageCache) ? Path.Combine(_options.StoragePath, ".images") : _options.ImageCache;
        if (string.IsNullOrEmpty(_options.Bridge))
            logger.LogWarning("Guests use user-mode networking (no --bridge): their firewalls are defined but not bound to their NICs");
        return new CellInstances(new InstanceHost(hypervisor, storage, Name, AnnouncedAddress, new ImageCache(folder, source, logger, _options.QemuUser), source, _options.Bridge, Cpus));
    }

    /// <summary>The CPU definitions this host starts: probed once, before the first hello (a probe that fails is tried again at the next).</summary>
    private HostCpus Cpus => _cpus ?? ProbeCpus();

    private HostCpus ProbeCpus()
    {
        try
        {
            var cpus = hypervisor.ProbeCpus((cpu, reason) => logger.LogInformation("Guests cannot start with CPU {Cpu} on this host: {Reason}", cpu, reason));
            if (cpus.Usable.Count > 0)
                logger.LogInformation("Guests can start with CPU {Cpus} on this host", string.Join(", ", cpus.Usable));
            return _cpus = cpus;
        }
        catch (Nano.Libvirt.LibvirtException e)
        {
            logger.LogWarning("Probing the CPU definitions guests can start with failed: {Reason}", e.Message);
            return HostCpus.None;
        }
    }

    /// <summary>The address the cell announces (and its guests' consoles listen on).</summary>
    private string AnnouncedAddress => string.IsNullOrEmpty(_options.Address) ? HostAddress() : _options.Address;

    /// <summary>The cell's name: --name, else the host name.</summary>
    public string Name => string.IsNullOrEmpty(_options.Name) ? Environment.MachineName : _options.Name;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watchdog = Fencing.WatchAsync(stoppingToken);
        var backoff = TimeSpan.FromSeconds(1);
        var unwelcomed = 0; // servers tried in a row without a welcome
        while (!stoppingToken.IsCancellationRequested)
        {
            var welcomed = false;
            try
            {
                // Over TLS the cell presents its own certificate, enrolled once with the join token, on every call.
                if (!_enrolled)
                {
                    _certificate = await CellCredentials.EnsureAsync(_options, Name, CurrentServer, stoppingToken);
                    _enrolled = true;
                }
                await RunStreamAsync(new CellAgentService.CellAgentServiceClient(ServerChannel), () => welcomed = true, stoppingToken);
                logger.LogWarning("The server closed the stream");
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.Unauthenticated or StatusCode.FailedPrecondition or StatusCode.InvalidArgument
                                             or StatusCode.PermissionDenied or StatusCode.AlreadyExists)
            {
                logger.LogError("The server refused this cell: {Reason}", e.Status.Detail);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Stream to {Server} ended: {Reason}", CurrentServer, e is RpcException r ? r.Status.Detail : e.Message);
            }
            if (stoppingToken.IsCancellationRequested)
                break;
            // The next replica takes over at once: a cell that moves within its liveness window stays alive, its guests
            // where they are. Backing off starts once every replica has been tried without a welcome.
            unwelcomed = welcomed ? 0 : unwelcomed + 1;
            _current = (_current + 1) % Servers.Count;
            var moving = Servers.Count > 1 && unwelcomed < Servers.Count;
            backoff = welcomed ? TimeSpan.FromSeconds(1) : moving ? backoff : TimeSpan.FromSeconds(Math.Min(backoff.TotalSeconds * 2, _options.MaxBackoffSeconds));
            var wait = moving ? TimeSpan.FromMilliseconds(200) : backoff * (0.5 + Random.Shared.NextDouble() / 2);
            logger.LogInformation("Reconnecting in {Seconds:0.0} s", wait.TotalSeconds);
            await Task.Delay(wait, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        await watchdog;
    }

    private async Task RunStreamAsync(CellAgentService.CellAgentServiceClient client, Action welcomed, CancellationToken stoppingToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        // The call outlives the session by the goodbye an orderly stop sends last.
        using var callEnd = new CancellationTokenSource();
        using var call = client.Connect(cancellationToken: callEnd.Token);
        var outbound = Channel.CreateUnbounded<ConnectRequest>(new UnboundedChannelOptions { SingleReader = true });
        using var goodbye = stoppingToken.Register(() =>
        {
            outbound.Writer.TryWrite(new ConnectRequest { Goodbye = new Goodbye { Reason = "the agent was stopped" } });
            outbound.Writer.TryComplete();
        });
        // A replica that took the connection or the call and never welcomes (hung, or drowned in a storm of joins) is given up on.
        using (var welcoming = CancellationTokenSource.CreateLinkedTokenSource(session.Token))
        {
            welcoming.CancelAfter(WelcomeTimeout);
            try
            {
                await call.RequestStream.WriteAsync(new ConnectRequest { Hello = Hello() }, welcoming.Token);
                if (!await call.ResponseStream.MoveNext(welcoming.Token) || call.ResponseStream.Current.Welcome is not { })
                    throw new InvalidOperationException("the server did not welcome this cell");
            }
            catch (Exception e) when (welcoming.IsCancellationRequested && !session.IsCancellationRequested && e is OperationCanceledException or RpcException)
            {
                throw new TimeoutException($"no welcome within {WelcomeTimeout.TotalSeconds} s");
            }
        }
        var welcome = call.ResponseStream.Current.Welcome;
        welcomed();
        Volatile.Write(ref _outbound, outbound.Writer);
        Fencing.Heard();
        AgentInstances.Host.Zone = welcome.Zone;
        logger.LogInformation("Joined {Server} as {Cell}: heartbeat every {Heartbeat} ms, metrics every {Metrics} ms",
            CurrentServer, Name, welcome.HeartbeatIntervalMs, welcome.MetricsIntervalMs);

        using var events = hypervisor.SubscribeOwnDomainEvents(Name, e => outbound.Writer.TryWrite(new ConnectRequest { DomainEvent = e }));
        try
        {
            if (AgentInstances.Firewalls.EnsureBase() && AgentInstances.Firewalls.IncludeBaseInOlderFirewalls() is > 0 and var older)
                logger.LogInformation("Rewrote {Count} guest firewall(s) made before the base filter to include it", older);
            if (AgentInstances.Firewalls.Sweep() is > 0 and var swept)
                logger.LogInformation("Removed {Count} firewall(s) whose guest's domain is gone", swept);
        }
        catch (Exception e) when (e is Nano.Libvirt.LibvirtException)
        {
            logger.LogWarning("Defining the guests' base filter or sweeping firewalls failed: {Reason}", e.Message);
        }
        var sampler = new MetricsSampler(probe, hypervisor, () => storage.CurrentPath, Name);
        sampler.Sample();
        var tasks = new[]
        {
            PumpAsync(call.RequestStream, outbound.Reader, callEnd.Token),
            EveryAsync(TimeSpan.FromMilliseconds(welcome.HeartbeatIntervalMs), sequence => new ConnectRequest { Heartbeat = new Heartbeat { Sequence = sequence } }, outbound.Writer, session.Token),
            EveryAsync(TimeSpan.FromMilliseconds(welcome.MetricsIntervalMs), _ => new ConnectRequest { Metrics = sampler.Sample() }, outbound.Writer, session.Token),
            // Until the server ends the call (after a goodbye it does so once it has read it), or falls silent.
            ReadCommandsAsync(call.ResponseStream, Silence(welcome), callEnd.Token, stoppingToken),
        };
        try
        {
            await await Task.WhenAny(tasks);
        }
        finally
        {
            session.Cancel();
            outbound.Writer.TryComplete();
            // The pump ends once what was queued (a goodbye last) is written; a dead stream does not hold it long.
            callEnd.CancelAfter(TimeSpan.FromSeconds(2));
            await Task.WhenAll(tasks).ContinueWith(_ => { }, TaskScheduler.Default);
            callEnd.Cancel();
        }
    }

    private Hello Hello()
    {
        var (total, available) = probe.Space(storage.CurrentPath);
        var host = probe.Read();
        var hello = new Hello
        {
            Token = _options.Token,
            ProtocolVersion = (int)ProtocolVersion.Current,
            AgentVersion = typeof(CellAgent).Assembly.GetName().Version?.ToString() ?? "",
            Name = Name,
            Address = AnnouncedAddress,
            LibvirtUri = hypervisor.Uri,
            MigrationUri = _options.MigrationUri,
            Hypervisor = hypervisor.Type,
            HypervisorVersion = hypervisor.Version,
            Cores = hypervisor.Cores,
            Memory = host.TotalMemory,
            AvailableMemory = host.AvailableMemory,
            Kvm = hypervisor.Kvm,
            CpuSignature = Cpus.Signature,
            Cpus = { Cpus.Usable },
            Storage = storage.Describe(total, available),
        };
        hello.Domains.AddRange(hypervisor.ListOwnDomains(Name));
        return hello;
    }

    private static async Task PumpAsync(IClientStreamWriter<ConnectRequest> stream, ChannelReader<ConnectRequest> outbound, CancellationToken token)
    {
        await foreach (var message in outbound.ReadAllAsync(token))
            await stream.WriteAsync(message, token);
        await stream.CompleteAsync();
    }

    /// <summary>
    /// A message every <paramref name="interval"/>, from a random point within the first one: cells that joined together
    /// (every cell of a replica that stopped, all cells after a restart) do not beat and report in step.
    /// </summary>
    private static async Task EveryAsync(TimeSpan interval, Func<long, ConnectRequest> make, ChannelWriter<ConnectRequest> outbound, CancellationToken token)
    {
        await Task.Delay(interval * Random.Shared.NextDouble(), token);
        using var timer = new PeriodicTimer(interval);
        for (long sequence = 1; await timer.WaitForNextTickAsync(token); sequence++)
            outbound.TryWrite(make(sequence));
    }

    /// <summary>
    /// Runs each command the stream brings. A command outlives the stream: it runs until its deadline or the agent's
    /// stop, and its progress and result go to whichever stream is open then. A server whose stream broke sends the
    /// command again on the next one, and the dispatcher answers that repeat from this same run.
    /// </summary>
    private async Task ReadCommandsAsync(IAsyncStreamReader<ConnectResponse> stream, TimeSpan silence, CancellationToken reading, CancellationToken stopping)
    {
        using var heard = CancellationTokenSource.CreateLinkedTokenSource(reading);
        while (true)
        {
            heard.CancelAfter(silence);
            try
            {
                if (!await stream.MoveNext(heard.Token))
                    return;
            }
            catch (Exception e) when (heard.IsCancellationRequested && !reading.IsCancellationRequested && e is OperationCanceledException or RpcException)
            {
                // The server acks every heartbeat: a stream without a word for this long is dead, whatever its connection says.
                throw new TimeoutException($"the server sent nothing for {silence.TotalSeconds} s");
            }
            Fencing.Heard(stream.Current.HeartbeatAck?.FenceAfterMs);
            if (stream.Current.Command is not { } command)
                continue;
            _ = Task.Run(async () => SendToServer(new ConnectRequest
            {
                Result = await Commands.RunAsync(command, stopping, percent => SendToServer(new ConnectRequest { Progress = new CommandProgress { Id = command.Id, Percent = percent } })),
            }), stopping);
        }
    }

    /// <summary>How long a replica may take to welcome a hello before the agent tries the next.</summary>
    private static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long a welcomed stream may bring nothing (not even a heartbeat ack) before the agent gives it up: five heartbeats, 15 s at least.</summary>
    private static TimeSpan Silence(Welcome welcome) => TimeSpan.FromMilliseconds(Math.Max(15_000, 5L * welcome.HeartbeatIntervalMs));

    private void SendToServer(ConnectRequest message) => Volatile.Read(ref _outbound)?.TryWrite(message);

    public override void Dispose()
    {
        lock (_channels)
        {
            foreach (var channel in _channels.Values)
                channel.Dispose();
        }
        base.Dispose();
    }

    /// <summary>The first non-loopback IPv4 address of an interface that is up; 127.0.0.1 when there is none.</summary>
    private static string HostAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a))?.ToString() ?? "127.0.0.1";
}
