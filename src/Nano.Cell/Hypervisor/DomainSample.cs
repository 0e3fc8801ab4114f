namespace Nano.Cell.Hypervisor;

/// <summary>Counters of one running domain at one instant.</summary>
/// <param name="CpuTime">CPU time used, in nanoseconds.</param>
/// <param name="VirtualCpus">vCPU count.</param>
/// <param name="Memory">Memory in use, in bytes.</param>
/// <param name="BytesRead">Bytes read from its disks since it started.</param>
/// <param name="BytesWritten">Bytes written to its disks since it started.</param>
/// <param name="BytesReceived">Bytes its interfaces received since it started.</param>
/// <param name="BytesSent">Bytes its interfaces sent since it started.</param>
public sealed record DomainSample(ulong CpuTime, int VirtualCpus, long Memory, long BytesRead, long BytesWritten, long BytesReceived, long BytesSent);
