namespace Nano.Libvirt;

/// <summary>The host as libvirt sees it.</summary>
/// <param name="Model">CPU model.</param>
/// <param name="MemoryBytes">Installed memory in bytes.</param>
/// <param name="Cpus">Active logical CPUs.</param>
/// <param name="Mhz">CPU frequency in MHz.</param>
public sealed record NodeInfo(string Model, long MemoryBytes, int Cpus, int Mhz);
