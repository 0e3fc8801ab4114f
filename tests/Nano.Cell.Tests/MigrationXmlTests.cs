using System.Xml.Linq;
using Nano.Libvirt;

namespace Nano.Cell.Tests;

/// <summary>What a live migration changes in the domain XML it hands to the destination.</summary>
public sealed class MigrationXmlTests
{
    private const string Source = """
        <domain type="kvm"><name>g1</name>
          <metadata><nano:instance xmlns:nano="urn:nano-grpc:instance:1" guest="g1" cell="a" generation="4" /><other xmlns="urn:x" /></metadata>
          <devices>
            <disk type="file" device="disk"><source file="/a/g1_sys.qcow2" /><backingStore type="file"><source file="/a/.images/i.qcow2" /></backingStore><target dev="sda" /></disk>
            <disk type="file" device="cdrom"><source file="/a/g1_ci.iso" /><target dev="sdb" /></disk>
            <disk type="file" device="cdrom"><source file="/a/.images/m.iso" /><target dev="sdc" /></disk>
            <graphics type="vnc" port="5901" autoport="yes" listen="10.0.0.1"><listen type="address" address="10.0.0.1" /></graphics>
          </devices>
        </domain>
        """;

    [Fact]
    public void TheGuestsFilesMove_ItsOwnerAndConsoleChange_TheRestStays()
    {
        var xml = XElement.Parse(DomainConsole.ListenOn(DomainDisk.MoveFiles(new DomainOwner("g1", "b", 5).StampOnto(Source), "g1", "/b"), "10.0.0.2"));
        var disks = xml.Element("devices")!.Elements("disk").ToList();
        Assert.Equal(["/b/g1_sys.qcow2", "/b/g1_ci.iso", "/a/.images/m.iso"], disks.Select(d => (string)d.Element("source")!.Attribute("file")!));
        Assert.Null(disks[0].Element("backingStore")); // read afresh from the moved overlay
        var graphics = xml.Element("devices")!.Element("graphics")!;
        Assert.Equal(("10.0.0.2", "10.0.0.2"), ((string)graphics.Attribute("listen")!, (string)graphics.Element("listen")!.Attribute("address")!));
        var metadata = xml.Element("metadata")!;
        Assert.Single(metadata.Elements(XName.Get("instance", DomainOwner.Namespace)));
        Assert.Equal(("b", "5"), ((string)metadata.Elements().First(e => e.Name.LocalName == "instance").Attribute("cell")!,
            (string)metadata.Elements().First(e => e.Name.LocalName == "instance").Attribute("generation")!));
        Assert.NotNull(metadata.Element(XName.Get("other", "urn:x")));
    }
}
