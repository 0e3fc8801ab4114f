namespace Nano.Server.Hosting;

/// <summary>When this server process started (the zone's start_time).</summary>
public sealed class ServerClock
{
    public DateTime StartedAt { get; } = DateTime.Now;
}
