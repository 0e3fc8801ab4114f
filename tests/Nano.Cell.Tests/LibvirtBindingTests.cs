using System.Collections.Concurrent;
using Nano.Libvirt;

namespace Nano.Cell.Tests;

/// <summary>The binding against libvirt's test driver (test:///default, shared by the connections of one process).</summary>
public sealed class LibvirtBindingTests
{
    private const string TestUri = "test:///default";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public void Connection_ReportsTheDriverAndNode()
    {
        using var connection = Connection.Open(TestUri);
        Assert.True(connection.IsAlive);
        Assert.Equal("TEST", connection.HypervisorType);
        Assert.True(connection.LibraryVersion >= 9_000_000);
        var node = connection.GetNodeInfo();
        Assert.True(node.Cpus > 0);
        Assert.True(node.MemoryBytes > 0);
        Assert.True(connection.GetFreeMemory() > 0);
    }

    [Fact]
    public void OpeningAnUnknownUri_ThrowsLibvirtsMessage()
    {
        var e = Assert.Throws<LibvirtException>(() => Connection.Open("nosuchdriver:///nothing"));
        Assert.Contains("nosuchdriver", e.Message);
        Assert.False(string.IsNullOrWhiteSpace(e.LibvirtMessage));
    }

    [Fact]
    public void Domain_DefineStartStopUndefine_WithOwnerMetadata()
    {
        using var connection = Connection.Open(TestUri);
        var uuid = Guid.NewGuid().ToString();
        var definition = Definition(uuid, "guest-<&>-1");
        using (var domain = connection.DefineDomain(definition.ToXml()))
        {
            Assert.Equal(uuid, domain.Uuid);
            Assert.Equal("guest-<&>-1", domain.Name);
            Assert.Equal(DomainState.ShutOff, domain.GetState());
            Assert.Equal(new DomainOwner("g-1", "binding-tests"), DomainOwner.Of(domain));

            domain.Start();
            var info = domain.GetInfo();
            Assert.Equal(DomainState.Running, info.State);
            Assert.Equal(2, info.VirtualCpus);
            Assert.Equal(128L * 1024 * 1024, info.MaxMemoryBytes);

            domain.Destroy();
            Assert.Equal(DomainState.ShutOff, domain.GetState());
            Assert.Contains("<name>guest-&lt;&amp;&gt;-1</name>", domain.GetXml());
            domain.Undefine();
        }
        Assert.Null(connection.FindDomain(uuid));
        Assert.DoesNotContain(connection.ListDomains(), d => d.Uuid == uuid);
    }

    [Fact]
    public void ForeignDomains_HaveNoOwner()
    {
        using var connection = Connection.Open(TestUri);
        var domains = connection.ListDomains();
        var builtIn = Assert.Single(domains, d => d.Name == "test");
        Assert.Null(DomainOwner.Of(builtIn));
        foreach (var domain in domains)
            domain.Dispose();
    }

    [Fact]
    public void DefiningBadXml_ThrowsLibvirtsMessage()
    {
        using var connection = Connection.Open(TestUri);
        var e = Assert.Throws<LibvirtException>(() => connection.DefineDomain("<domain type='test'><name>x</name>"));
        Assert.Equal("define domain", e.Operation);
        Assert.False(string.IsNullOrWhiteSpace(e.LibvirtMessage));
    }

    [Fact]
    public void StartingARunningDomain_Throws()
    {
        using var connection = Connection.Open(TestUri);
        using var domain = connection.DefineDomain(Definition(Guid.NewGuid().ToString(), "twice").ToXml());
        domain.Start();
        var e = Assert.Throws<LibvirtException>(domain.Start);
        Assert.Contains("twice", e.Operation);
        domain.Destroy();
        domain.Undefine();
    }

    [Fact]
    public async Task LifecycleEvents_ArriveForStartAndStop()
    {
        using var connection = Connection.Open(TestUri);
        var events = new ConcurrentQueue<DomainLifecycleEvent>();
        using var subscription = connection.SubscribeLifecycle(events.Enqueue);
        var uuid = Guid.NewGuid().ToString();
        using var domain = connection.DefineDomain(Definition(uuid, "evented").ToXml());
        domain.Start();
        domain.Destroy();
        domain.Undefine();

        var deadline = DateTime.UtcNow + Deadline;
        while (events.Count(e => e.Uuid == uuid) < 4 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal([DomainLifecycle.Defined, DomainLifecycle.Started, DomainLifecycle.Stopped, DomainLifecycle.Undefined],
            events.Where(e => e.Uuid == uuid).Select(e => e.Lifecycle));
    }

    private static DomainDefinition Definition(string uuid, string name) => new()
    {
        Type = "test",
        Name = name,
        Uuid = uuid,
        MemoryBytes = 128L * 1024 * 1024,
        VirtualCpus = 2,
        Owner = new DomainOwner("g-1", "binding-tests"),
    };
}
