using System.Collections.Concurrent;
using Nano.Cell.Hypervisor;
using Nano.Contracts.Cell.V1;
using Nano.Libvirt;

namespace Nano.Cell.Tests;

/// <summary>
/// The agent's view of libvirt: only domains whose metadata names its cell are its own. The test
/// driver's default connection is shared within the process, so every test uses cell names of its own.
/// </summary>
public sealed class LibvirtHypervisorTests
{
    private readonly string _cellA = $"cell-a-{Guid.NewGuid():N}";
    private readonly string _cellB = $"cell-b-{Guid.NewGuid():N}";

    [Fact]
    public void OwnDomains_AreThoseWhoseMetadataNamesTheCell()
    {
        using var hypervisor = new LibvirtHypervisor("test:///default");
        var mine1 = Define(hypervisor, "guest-1", _cellA);
        var mine2 = Define(hypervisor, "guest-2", _cellA);
        Define(hypervisor, "guest-3", _cellB);
        using (var running = hypervisor.Connection.FindDomain(mine2)!)
            running.Start();

        var own = hypervisor.ListOwnDomains(_cellA).OrderBy(d => d.GuestId).ToList();
        Assert.Equal(["guest-1", "guest-2"], own.Select(d => d.GuestId));
        Assert.Equal([mine1, mine2], own.Select(d => d.Uuid));
        Assert.Equal([Contracts.Cell.V1.DomainState.Stopped, Contracts.Cell.V1.DomainState.Running], own.Select(d => d.State));
        Assert.Equal(["guest-3"], hypervisor.ListOwnDomains(_cellB).Select(d => d.GuestId));

        var samples = hypervisor.SampleOwnDomains(_cellA);
        Assert.Equal(["guest-2"], samples.Keys);
        Assert.Equal(2, samples["guest-2"].VirtualCpus);
        Assert.Equal(64L * 1024 * 1024, samples["guest-2"].Memory);
    }

    [Fact]
    public void DiskAndNetworkCounters_AreSummedOverTheDomainsDevices()
    {
        using var hypervisor = new LibvirtHypervisor("test:///default");
        var uuid = Guid.NewGuid().ToString();
        using (var domain = hypervisor.Connection.DefineDomain($$"""
            <domain type='test'><name>io-{{uuid}}</name><uuid>{{uuid}}</uuid>
              <metadata><nano:instance xmlns:nano="{{DomainOwner.Namespace}}" guest="guest-io" cell="{{_cellA}}"/></metadata>
              <memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>
              <devices>
                <disk type='file' device='disk'><source file='/tmp/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
                <disk type='file' device='disk'><source file='/tmp/b.qcow2'/><target dev='vdb' bus='virtio'/></disk>
                <interface type='network'><source network='default'/><mac address='00:16:3e:12:34:56'/></interface>
              </devices>
            </domain>
            """))
        {
            domain.Start();
            var (disks, interfaces) = domain.GetDeviceNames();
            Assert.Equal(["vda", "vdb"], disks);
            var nic = Assert.Single(interfaces);
            var expectedRead = domain.GetBlockStats("vda").Read + domain.GetBlockStats("vdb").Read;
            var sample = hypervisor.SampleOwnDomains(_cellA)["guest-io"];
            Assert.True(sample.BytesRead >= expectedRead && expectedRead > 0, $"{sample.BytesRead} < {expectedRead}");
            Assert.True(sample.BytesWritten > 0);
            Assert.True(sample.BytesReceived > 0 && sample.BytesSent > 0);
            Assert.True(domain.GetInterfaceStats(nic).Received > 0);
            Assert.Throws<LibvirtException>(() => domain.GetBlockStats("vdz"));
            domain.Destroy();
            domain.Undefine();
        }
    }

    [Fact]
    public async Task Events_OfOwnDomainsOnly_AreReported()
    {
        using var hypervisor = new LibvirtHypervisor("test:///default");
        var events = new ConcurrentQueue<DomainEvent>();
        using var subscription = hypervisor.SubscribeOwnDomainEvents(_cellA, events.Enqueue);
        var mine = Define(hypervisor, "guest-x", _cellA);
        var theirs = Define(hypervisor, "guest-y", _cellB);
        Assert.Single(hypervisor.ListOwnDomains(_cellA)); // the agent learns of its domains by listing them (or defining them)
        foreach (var uuid in new[] { theirs, mine })
        {
            using var domain = hypervisor.Connection.FindDomain(uuid)!;
            domain.Start();
            domain.Destroy();
            domain.Undefine();
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (events.Count < 3 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        await Task.Delay(200);
        Assert.Equal([DomainEventKind.Started, DomainEventKind.Stopped, DomainEventKind.Deleted], events.Select(e => e.Kind));
        Assert.All(events, e => Assert.Equal("guest-x", e.GuestId));
    }

    [Fact]
    public void TheHost_IsDescribed()
    {
        using var hypervisor = new LibvirtHypervisor("test:///default");
        Assert.Equal("TEST", hypervisor.Type);
        Assert.True(hypervisor.Cores > 0);
        Assert.True(hypervisor.Version > 0);
        Assert.Equal("test:///default", hypervisor.Uri);
    }

    private static string Define(LibvirtHypervisor hypervisor, string guest, string cell)
    {
        var uuid = Guid.NewGuid().ToString();
        using var domain = hypervisor.Connection.DefineDomain(new DomainDefinition
        {
            Type = "test", Name = $"{cell}-{guest}", Uuid = uuid, MemoryBytes = 64L * 1024 * 1024, VirtualCpus = 2,
            Owner = new DomainOwner(guest, cell),
        }.ToXml());
        return uuid;
    }
}
