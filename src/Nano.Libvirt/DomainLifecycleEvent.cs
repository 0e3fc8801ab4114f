namespace Nano.Libvirt;

/// <summary>A lifecycle event of one domain; <see cref="Detail"/> is libvirt's detail code for the event type.</summary>
public sealed record DomainLifecycleEvent(string Uuid, string Name, DomainLifecycle Lifecycle, int Detail);
