namespace Nano.Libvirt;

/// <summary>virDomainEventType: what happened to a domain.</summary>
public enum DomainLifecycle
{
    Defined = 0,
    Undefined = 1,
    Started = 2,
    Suspended = 3,
    Resumed = 4,
    Stopped = 5,
    Shutdown = 6,
    PMSuspended = 7,
    Crashed = 8,
}
