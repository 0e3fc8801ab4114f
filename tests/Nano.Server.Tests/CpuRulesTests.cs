using Nano.Server.Domain.Rules;

namespace Nano.Server.Tests;

/// <summary>The selection rules of CPU definitions, without a server.</summary>
public sealed class CpuRulesTests
{
    private static readonly CellCpus IntelA = new("a", ["host-passthrough", "host-model", "Icelake-Server", "Cascadelake-Server", "Skylake-Client", "qemu64"], "sig-icelake");
    private static readonly CellCpus IntelB = IntelA with { Cell = "b" };
    private static readonly CellCpus OlderIntel = new("c", ["host-passthrough", "host-model", "Cascadelake-Server", "Skylake-Client", "qemu64"], "sig-cascadelake");
    private static readonly CellCpus Epyc = new("d", ["EPYC-Rome", "EPYC", "qemu64"], "sig-epyc"); // host-passthrough does not start there
    private static readonly CellCpus Unknown = new("e", [], "");

    [Fact]
    public void Automatic_IdenticalHostsThatStartIt_GetHostPassthrough()
    {
        Assert.Equal("host-passthrough", CpuRules.Choose("", [IntelA]));
        Assert.Equal("host-passthrough", CpuRules.Choose("", [IntelA, IntelB]));
        Assert.Equal("host-passthrough", CpuRules.Choose("", [IntelB, IntelA, Unknown]));
    }

    [Fact]
    public void Automatic_DifferentHosts_GetTheBestModelTheyAllStart()
    {
        Assert.Equal("Cascadelake-Server", CpuRules.Choose("", [IntelA, OlderIntel]));
        Assert.Equal("qemu64", CpuRules.Choose("", [IntelA, OlderIntel, Epyc]));
        // A host whose own CPU mode fails the probe (QEMU aborts on it) gets its best named model, even alone.
        Assert.Equal("EPYC-Rome", CpuRules.Choose("", [Epyc]));
        Assert.Equal("", CpuRules.Choose("", [new CellCpus("x", ["host-passthrough"], "s1"), new CellCpus("y", ["host-passthrough"], "s2")]));
        Assert.Equal("", CpuRules.Choose("", [Unknown]));
        Assert.Equal("", CpuRules.Choose("", []));
        // A signature nobody reported proves nothing.
        Assert.Equal("qemu64", CpuRules.Choose("", [new CellCpus("x", ["host-passthrough", "qemu64"], ""), new CellCpus("y", ["host-passthrough", "qemu64"], "")]));
    }

    [Fact]
    public void AnExplicitSetting_IsWhatGuestsGet()
    {
        Assert.Equal("host-model", CpuRules.Choose("host-model", [IntelA, Epyc]));
        Assert.Equal("EPYC", CpuRules.Choose("EPYC", []));
    }

    [Theory]
    [InlineData("")]
    [InlineData("host-passthrough")]
    [InlineData("EPYC-Rome-v2")]
    [InlineData("Opteron_G5")]
    [InlineData("x86-64-v2")]
    public void Settings_AreEmptyOrAPlainName(string value) => Assert.Equal(value, CpuRules.Setting(value));

    [Theory]
    [InlineData("host passthrough")]
    [InlineData("-EPYC")]
    [InlineData("EPYC'/><x")]
    [InlineData("../EPYC")]
    public void OtherSettings_AreRefused(string value) =>
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, Assert.Throws<Grpc.Core.RpcException>(() => CpuRules.Setting(value)).StatusCode);

    [Fact]
    public void Attaching_ACellThatCannotStartThePoolsCpu_IsRefused_NamingIt()
    {
        Assert.Contains("cannot start guests with CPU 'EPYC'", CpuRules.AttachRefusal("p", "EPYC", [], IntelA));
        Assert.Null(CpuRules.AttachRefusal("p", "EPYC", [IntelA], Epyc));
        Assert.Null(CpuRules.AttachRefusal("p", "EPYC", [], Unknown));
        Assert.Null(CpuRules.AttachRefusal("p", "", [IntelA], OlderIntel));
        Assert.Null(CpuRules.AttachRefusal("p", "", [], Epyc));
        Assert.Contains("shares no CPU definition", CpuRules.AttachRefusal("p", "", [IntelA], new CellCpus("z", ["host-passthrough", "Opteron_G5"], "sig-z")));
        Assert.Contains("cell 'd'", CpuRules.SettingRefusal("p", "Skylake-Client", [IntelA, Epyc]));
        Assert.Null(CpuRules.SettingRefusal("p", "qemu64", [IntelA, Epyc, Unknown]));
        Assert.Null(CpuRules.SettingRefusal("p", "", [IntelA, Epyc]));
    }

    [Fact]
    public void LiveMigration_HostModesMoveOnlyBetweenIdenticalCpus_NamedModelsWhereTheTargetStartsThem()
    {
        Assert.Null(CpuRules.LiveMigrationRefusal("g", "host-passthrough", IntelA, IntelB));
        Assert.Contains("same CPU", CpuRules.LiveMigrationRefusal("g", "host-passthrough", IntelA, OlderIntel));
        Assert.Contains("same CPU", CpuRules.LiveMigrationRefusal("g", "host-model", IntelA, OlderIntel));
        Assert.Contains("cannot start", CpuRules.LiveMigrationRefusal("g", "host-passthrough", IntelA, Epyc));
        Assert.Null(CpuRules.LiveMigrationRefusal("g", "Skylake-Client", IntelA, OlderIntel));
        Assert.Contains("which cell 'c' cannot start", CpuRules.LiveMigrationRefusal("g", "Icelake-Server", IntelA, OlderIntel));
        Assert.Null(CpuRules.LiveMigrationRefusal("g", "qemu64", OlderIntel, Epyc));
        Assert.Null(CpuRules.LiveMigrationRefusal("g", "", IntelA, Epyc)); // a domain without a CPU definition
    }
}
