using Microsoft.Extensions.Logging;
using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell;

/// <summary>
/// The agent's watchdog (fencing), for cells of a failover pool. The server answers every heartbeat; it tells the agent
/// how long it may go unheard before it must assume the server takes its guests elsewhere (fence_after_ms, shorter than
/// the soonest failover). When that time passes without a word from the server (a partition, a server that is down), the
/// agent powers off every running domain of its own, so the copy a failover starts elsewhere is the only one writing the
/// guest's disk. It fences once per silence; hearing from the server again ends it.
/// </summary>
public sealed class Fencing(IHypervisor hypervisor, string cell, ILogger logger)
{
    private long _lastHeard = DateTime.UtcNow.Ticks;
    private int _fenceAfterMs;
    private int _fenced;

    /// <summary>The server was heard; with an ack, how long the agent may go unheard from now on (0: never fence).</summary>
    public void Heard(int? fenceAfterMs = null)
    {
        Interlocked.Exchange(ref _lastHeard, DateTime.UtcNow.Ticks);
        if (fenceAfterMs is { } after && Interlocked.Exchange(ref _fenceAfterMs, after) != after)
        {
            if (after > 0)
                logger.LogInformation("Fencing armed: this cell's guests are failed over elsewhere when it is lost; after {Seconds:0.0} s without a word from the server it powers them off", after / 1000.0);
            else
                logger.LogInformation("Fencing off: this cell's guests are not failed over");
        }
        Interlocked.Exchange(ref _fenced, 0);
    }

    /// <summary>Checks four times a second until <paramref name="token"/> is cancelled.</summary>
    public async Task WatchAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        while (await timer.WaitForNextTickAsync(token).AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result, TaskScheduler.Default))
            Check(DateTime.UtcNow);
    }

    /// <summary>Fences if the time is up; returns how many guests were powered off.</summary>
    public int Check(DateTime now)
    {
        var after = Volatile.Read(ref _fenceAfterMs);
        var silent = now - new DateTime(Interlocked.Read(ref _lastHeard), DateTimeKind.Utc);
        if (after <= 0 || silent < TimeSpan.FromMilliseconds(after) || Interlocked.Exchange(ref _fenced, 1) == 1)
            return 0;
        var powered = 0;
        try
        {
            foreach (var domain in hypervisor.ListOwnDomains(cell).Where(d => d.State is DomainState.Running or DomainState.Paused))
            {
                try
                {
                    hypervisor.Stop(domain.GuestId, reboot: false, force: true);
                    powered++;
                }
                catch (Exception e)
                {
                    logger.LogError("Fencing: guest {Guest} could not be powered off: {Reason}", domain.GuestId, e.Message);
                }
            }
        }
        catch (Exception e)
        {
            // libvirtd unreachable: nothing runs that the agent could stop through it. Try again at the next check.
            Interlocked.Exchange(ref _fenced, 0);
            logger.LogError("Fencing: the guests could not be listed: {Reason}", e.Message);
            return 0;
        }
        logger.LogWarning("Fencing: no word from the server for {Seconds:0.0} s (at most {Limit:0.0} s for a cell of a failover pool): powered off {Count} running guest(s), " +
            "which the server may start on another cell", silent.TotalSeconds, after / 1000.0, powered);
        return powered;
    }
}
