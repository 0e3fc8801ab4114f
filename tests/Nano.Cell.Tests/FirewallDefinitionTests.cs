using System.Xml.Linq;
using Nano.Libvirt;

namespace Nano.Cell.Tests;

/// <summary>A guest's firewall as nwfilter XML, and the bridged NIC that references it.</summary>
public sealed class FirewallDefinitionTests
{
    [Fact]
    public void Rules_KeepTheirOrder_BetweenTheOutgoingPassAndTheDefault()
    {
        var xml = new FirewallDefinition("nano-g", "6f9619ff-8b86-d011-b42d-00c04fc964ff", DefaultAccept: false,
        [
            new FirewallRuleDefinition(true, "tcp", "10.0.0.1", "", 22),
            new FirewallRuleDefinition(false, "icmp", "", "10.0.0.5", 0),
            new FirewallRuleDefinition(true, "all", "", "", 0),
        ]).ToXml();

        Assert.Equal(
            "<filter name=\"nano-g\" chain=\"root\"><uuid>6f9619ff-8b86-d011-b42d-00c04fc964ff</uuid><filterref filter=\"nano-guest-base\" />" +
            "<rule action=\"accept\" direction=\"out\" priority=\"90\"><all /></rule>" +
            "<rule action=\"accept\" direction=\"in\" priority=\"100\"><tcp srcipaddr=\"10.0.0.1\" dstportstart=\"22\" /></rule>" +
            "<rule action=\"reject\" direction=\"in\" priority=\"101\"><icmp dstipaddr=\"10.0.0.5\" /></rule>" +
            "<rule action=\"accept\" direction=\"in\" priority=\"102\"><all /></rule>" +
            "<rule action=\"reject\" direction=\"in\" priority=\"1000\"><all /></rule></filter>", xml);
    }

    /// <summary>Every guest's NIC includes the base: clean-traffic, and no DHCP server answers from the guest, ahead of any rule of its own.</summary>
    [Fact]
    public void TheBaseFilter_IncludesCleanTraffic_AndDropsDhcpAnswersFromTheGuest()
    {
        Assert.Equal(
            "<filter name=\"nano-guest-base\" chain=\"root\"><uuid>2f0d6c1e-5b8a-4c57-9a51-8d3e0b7c4a10</uuid><filterref filter=\"clean-traffic\" />" +
            "<rule action=\"drop\" direction=\"out\" priority=\"50\"><udp srcportstart=\"67\" srcportend=\"67\" /></rule></filter>",
            GuestBaseFilter.Instance.ToXml());
    }

    [Fact]
    public void ABridgedNic_ReferencesItsFilter_AUserModeOneCannot()
    {
        XElement Nic(string? bridge) => XElement.Parse(new DomainDefinition
        {
            Type = "kvm", Name = "g", Uuid = "6f9619ff-8b86-d011-b42d-00c04fc964ff", MemoryBytes = 1 << 28, VirtualCpus = 1,
            Owner = new DomainOwner("g", "c"),
            Nic = new DomainNic("00:16:3e:00:00:01", "virtio", bridge) { Filter = "nano-g", FilterParameters = Instances.InstanceFirewalls.OwnAddress("10.0.0.7") },
        }.ToXml()).Element("devices")!.Element("interface")!;

        var bridged = Nic("br0");
        Assert.Equal("bridge|br0|nano-g", $"{bridged.Attribute("type")!.Value}|{bridged.Element("source")!.Attribute("bridge")!.Value}|{bridged.Element("filterref")!.Attribute("filter")!.Value}");
        Assert.Equal("<parameter name=\"IP\" value=\"10.0.0.7\" />", bridged.Element("filterref")!.Element("parameter")!.ToString());
        var user = Nic(null);
        Assert.Equal("user", user.Attribute("type")!.Value);
        Assert.Null(user.Element("filterref"));
    }

    [Theory]
    [InlineData("", "CTRL_IP_LEARNING=dhcp")] // no pool address: libvirt learns the leased one
    [InlineData("192.168.4.20", "IP=192.168.4.20")]
    public void AGuestsOwnAddress_IsItsPoolAddress_OrTheOneItLeases(string address, string parameters) =>
        Assert.Equal(parameters, string.Join(",", Instances.InstanceFirewalls.OwnAddress(address).Select(p => $"{p.Key}={p.Value}")));

    [Theory]
    [InlineData("10.0.0.7/24")]
    [InlineData("10.0.0.7' /><parameter name='IP' value='10.0.0.8")]
    [InlineData("::1")]
    [InlineData("10.7")]
    public void AnAddressThatIsNotOneIPv4_IsRefused(string address) =>
        Assert.Throws<ArgumentException>(() => Instances.InstanceFirewalls.OwnAddress(address));
}
