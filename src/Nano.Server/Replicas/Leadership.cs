using System.Diagnostics;
using Nano.Server.Data;

namespace Nano.Server.Replicas;

/// <summary>
/// Whether this replica is the zone's leader: the holder of the "leader" lease, which it renews four times per replica
/// liveness window and which another replica takes once it has expired (its holder died, or lost the database). The
/// duties that must run once in a zone (cell liveness, failover, the session sweep, recovery of dead replicas' work)
/// run on the leader only, each checking <see cref="IsLeader"/> at every turn. A leader that cannot renew stops
/// counting itself leader a beat before its lease can expire, so two replicas never both act as leader.
/// </summary>
public sealed class Leadership(ReplicaIdentity self, ReplicaRepository replicas, ILogger<Leadership> logger) : BackgroundService
{
    public const string Lease = "leader";

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _heldUntilTicks = long.MinValue; // on _clock
    private DateTime _since;

    /// <summary>Whether this replica holds the leader lease now.</summary>
    public bool IsLeader => _clock.Elapsed.Ticks < Interlocked.Read(ref _heldUntilTicks);

    /// <summary>When this replica last became leader (UTC), for duties that give the zone time to settle after a change of leader.</summary>
    public DateTime Since => _since;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(self.Beat);
        do
        {
            var asked = _clock.Elapsed;
            try
            {
                if (await replicas.HoldLeaseAsync(Lease, self.Id, self.Liveness))
                {
                    if (!IsLeader)
                    {
                        _since = DateTime.UtcNow;
                        logger.LogInformation("Replica {Id} is the leader: liveness, failover, sweeps and recovery run here", self.Id);
                    }
                    Interlocked.Exchange(ref _heldUntilTicks, (asked + self.Liveness - self.Beat).Ticks);
                }
                else if (IsLeader)
                    Lose("another replica holds the lease");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Renewing the leader lease failed: {Reason}", e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private void Lose(string why)
    {
        Interlocked.Exchange(ref _heldUntilTicks, long.MinValue);
        logger.LogWarning("Replica {Id} is no longer the leader: {Reason}", self.Id, why);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        Interlocked.Exchange(ref _heldUntilTicks, long.MinValue);
    }
}
