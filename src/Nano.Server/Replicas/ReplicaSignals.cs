using System.Collections.Concurrent;
using Dapper;
using Nano.Server.Data;
using Nano.Server.Hosting;
using Npgsql;

namespace Nano.Server.Replicas;

/// <summary>
/// What the database tells every replica (PostgreSQL LISTEN/NOTIFY on one connection of its own): sessions and
/// identities that changed (from triggers, see Data/Schema/0022), operations that moved on (triggers), the cells whose
/// status changed on another replica, cancellations of operations another replica runs, and cells whose agents opened a
/// stream on another replica (an older stream held here is closed). Handlers run on the
/// listener's thread and must be quick.
/// <para>
/// A notification can only be missed while the listening connection is down: <see cref="Listening"/> is false then, and
/// what is kept in memory on the strength of notifications (<see cref="SessionCache"/>, <see cref="ReadCache"/>) is not
/// trusted; <see cref="Resynced"/> fires each time listening starts again, after which it is rebuilt from the database.
/// </para>
/// </summary>
public sealed class ReplicaSignals : BackgroundService
{
    private readonly NpgsqlDataSource db;
    private readonly DatabaseEndpoint endpoint;
    private readonly ReplicaIdentity self;
    private readonly ReplicaRepository replicas;
    private readonly ILogger<ReplicaSignals> logger;
    private readonly ConcurrentDictionary<string, Acks> _barriers = new();

    public ReplicaSignals(NpgsqlDataSource db, DatabaseEndpoint endpoint, ReplicaIdentity self, ReplicaRepository replicas, ILogger<ReplicaSignals> logger)
    {
        (this.db, this.endpoint, this.self, this.replicas, this.logger) = (db, endpoint, self, replicas, logger);
        // A barrier's notification comes after every notification committed before it: answering it says all of those
        // were handled here.
        On(Barrier, id => _ = AnswerBarrierAsync(id));
        On(BarrierAck, payload =>
        {
            if (payload.Split('|') is [var id, var replica] && _barriers.TryGetValue(id, out var acks) && Guid.TryParse(replica, out var from))
                acks.Add(from);
        });
    }

    public const string Sessions = "nano_sessions";
    public const string Reads = "nano_reads";
    public const string Operations = "nano_operations";
    public const string Cells = "nano_cells";
    public const string Cancel = "nano_cancel";
    public const string Streams = "nano_streams";
    private const string Barrier = "nano_barrier";
    private const string BarrierAck = "nano_barrier_ack";

    /// <summary>The largest payload PostgreSQL carries is 8000 bytes; longer lists are cut into several notifications.</summary>
    public const int MaxPayload = 7900;

    private static readonly string[] Channels = [Sessions, Reads, Operations, Cells, Cancel, Streams, Barrier, BarrierAck];
    private static readonly TimeSpan Check = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, Action<string>[]> _handlers = new();
    private volatile bool _listening;

    /// <summary>Whether notifications are being received now (none can have been missed since <see cref="Resynced"/>).</summary>
    public bool Listening => _listening;

    /// <summary>Listening (re)started: whatever was learnt from notifications before may have missed some.</summary>
    public event Action? Resynced;

    /// <summary>Calls <paramref name="handler"/> with the payload of every notification on <paramref name="channel"/>.</summary>
    public void On(string channel, Action<string> handler) =>
        _handlers.AddOrUpdate(channel, [handler], (_, existing) => [.. existing, handler]);

    /// <summary>Tells every replica (this one included) <paramref name="payload"/> on <paramref name="channel"/>.</summary>
    public async Task NotifyAsync(string channel, string payload)
    {
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("SELECT pg_notify(@channel, @payload)", new { channel, payload });
    }

    /// <summary>
    /// Waits until every live replica has handled the notifications committed so far (at most <paramref name="patience"/>:
    /// a replica that does not answer is dead or cut off, and stops trusting what it keeps once it notices). A change
    /// of sessions or identities returns to its caller after this, so that the next call, on any replica, sees it.
    /// </summary>
    public async Task BarrierAsync(TimeSpan patience)
    {
        if (!Listening)
            return;
        var id = Guid.NewGuid().ToString("N");
        var acks = _barriers[id] = new Acks();
        try
        {
            var expected = (await replicas.ListLiveAsync(self.Liveness)).Select(r => r.Id).Append(self.Id).ToHashSet();
            await NotifyAsync(Barrier, id);
            using var timeout = new CancellationTokenSource(patience);
            while (!acks.Covers(expected))
                await acks.Changed.WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("Not every replica confirmed a change of sessions or identities within {Seconds} s", patience.TotalSeconds);
        }
        finally
        {
            _barriers.TryRemove(id, out _);
        }
    }

    private async Task AnswerBarrierAsync(string id)
    {
        try
        {
            await NotifyAsync(BarrierAck, $"{id}|{self.Id}");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            logger.LogDebug("Answering a barrier failed: {Reason}", e.Message);
        }
    }

    private sealed class Acks
    {
        private readonly HashSet<Guid> _from = [];

        public SemaphoreSlim Changed { get; } = new(0);

        public void Add(Guid replica)
        {
            lock (_from)
                _from.Add(replica);
            Changed.Release();
        }

        public bool Covers(IReadOnlySet<Guid> expected)
        {
            lock (_from)
                return expected.IsSubsetOf(_from);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // A plain connection of its own: the request path's pool multiplexes, and a multiplexed connection cannot wait.
                await using var connection = new NpgsqlConnection(endpoint.Maintenance);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, e) => Dispatch(e.Channel, e.Payload);
                foreach (var channel in Channels)
                    await connection.ExecuteAsync($"LISTEN {channel}");
                _listening = true;
                Resynced?.Invoke();
                while (true)
                {
                    // A quiet connection is checked now and then: a database gone away is noticed within seconds.
                    if (!await connection.WaitAsync(Check, stoppingToken))
                        await connection.ExecuteAsync("SELECT 1");
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                if (_listening)
                    logger.LogWarning("Listening to the database's notifications stopped ({Reason}): sessions are read from the database until it is back", e.Message);
            }
            _listening = false;
            await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private void Dispatch(string channel, string payload)
    {
        if (!_handlers.TryGetValue(channel, out var handlers))
            return;
        foreach (var handler in handlers)
        {
            try
            {
                handler(payload);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Handling a notification on {Channel} failed", channel);
            }
        }
    }

    /// <summary>
    /// Cuts <paramref name="items"/> into comma-separated payloads of at most <see cref="MaxPayload"/> bytes, each after
    /// <paramref name="prefix"/>.
    /// </summary>
    public static IEnumerable<string> Payloads(string prefix, IEnumerable<string> items)
    {
        var payload = new System.Text.StringBuilder(prefix);
        foreach (var item in items)
        {
            if (payload.Length > prefix.Length && payload.Length + 1 + item.Length > MaxPayload)
            {
                yield return payload.ToString();
                payload.Clear().Append(prefix);
            }
            if (payload.Length > prefix.Length)
                payload.Append(',');
            payload.Append(item);
        }
        if (payload.Length > prefix.Length)
            yield return payload.ToString();
    }
}
