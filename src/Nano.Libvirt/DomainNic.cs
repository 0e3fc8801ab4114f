namespace Nano.Libvirt;

/// <summary>The network interface of a domain: on a host bridge, or QEMU user networking when there is none.</summary>
/// <param name="Mac">MAC address.</param>
/// <param name="Model">"virtio", "e1000" or "rtl8139".</param>
/// <param name="Bridge">Host bridge; null for user networking.</param>
public sealed record DomainNic(string Mac, string Model, string? Bridge)
{
    /// <summary>Inbound (to the guest) average in KiB/s; 0 for no limit. Peak is twice, burst equal.</summary>
    public long InboundKiBps { get; init; }

    /// <summary>Outbound (from the guest) average in KiB/s; 0 for no limit.</summary>
    public long OutboundKiBps { get; init; }

    /// <summary>The network filter bound to the interface (bridged interfaces only: user-mode ones have no tap to filter); null for none.</summary>
    public string? Filter { get; init; }

    /// <summary>The filter's parameters (IP, CTRL_IP_LEARNING, DHCPSERVER, ...), in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> FilterParameters { get; init; } = [];
}
