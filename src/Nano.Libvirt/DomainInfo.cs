namespace Nano.Libvirt;

/// <summary>Runtime figures of a domain.</summary>
/// <param name="State">Current state.</param>
/// <param name="MaxMemoryBytes">Memory limit in bytes.</param>
/// <param name="MemoryBytes">Memory in use in bytes.</param>
/// <param name="VirtualCpus">vCPU count.</param>
/// <param name="CpuTimeNanoseconds">CPU time used, in nanoseconds.</param>
public sealed record DomainInfo(DomainState State, long MaxMemoryBytes, long MemoryBytes, int VirtualCpus, ulong CpuTimeNanoseconds);
