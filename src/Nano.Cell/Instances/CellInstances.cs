namespace Nano.Cell.Instances;

/// <summary>
/// The agent's instances, one part per verb, all working on the same host (<see cref="InstanceHost"/>): the
/// command dispatcher hands each command to its part.
/// </summary>
public sealed class CellInstances(InstanceHost host)
{
    public InstanceHost Host => host;

    public InstanceLifecycle Lifecycle { get; } = new(host, new InstanceDepartures(host));

    public InstanceArrivals Arrivals { get; } = new(host);

    public InstanceDepartures Departures { get; } = new(host);

    public InstanceDisks Disks { get; } = new(host);

    public InstanceSnapshots Snapshots { get; } = new(host);

    public InstanceMedia Media { get; } = new(host);

    public InstanceFirewalls Firewalls => host.Firewalls;
}
