namespace Nano.Libvirt;

/// <summary>A libvirt call failed; the message is libvirt's own.</summary>
public sealed class LibvirtException(string operation, string message) : Exception($"{operation}: {message}")
{
    public string Operation { get; } = operation;

    public string LibvirtMessage { get; } = message;
}
