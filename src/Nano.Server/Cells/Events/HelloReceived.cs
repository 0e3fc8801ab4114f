using Nano.Contracts.Cell.V1;
using Nano.Server.Data;

namespace Nano.Server.Cells.Events;

/// <summary>
/// A cell said hello (its stream is admitted): its host is registered as it is now, under that stream, and the rows of
/// its guests take the running state its domains report. Domains without a row are removed by <see cref="CellJoined"/>
/// once the stream is up.
/// </summary>
public sealed class HelloReceived(CellRepository cells, GuestRepository guests)
{
    public async Task HandleAsync(Hello hello, Guid stream)
    {
        await cells.RegisterAsync(Registration(hello, stream));
        var reported = new Dictionary<Guid, bool>();
        foreach (var domain in hello.Domains)
        {
            if (Guid.TryParse(domain.GuestId, out var id))
                reported[id] = domain.State == DomainState.Running;
        }
        await guests.ReconcileAsync(hello.Name, reported);
    }

    private static CellRegistration Registration(Hello hello, Guid stream) => new(
        hello.Name, hello.Address, hello.AgentVersion, hello.LibvirtUri, hello.Hypervisor, hello.HypervisorVersion, hello.Kvm,
        hello.Cores, hello.Memory, Math.Clamp(hello.AvailableMemory, 0, hello.Memory), string.IsNullOrEmpty(hello.Storage?.Mode) ? "local" : hello.Storage.Mode,
        hello.Storage?.System.ToArray() ?? [], hello.Storage?.Data.ToArray() ?? [], hello.Storage?.Total ?? 0, hello.Storage?.Available ?? 0,
        hello.MigrationUri, [.. hello.Cpus], hello.CpuSignature, stream);
}
