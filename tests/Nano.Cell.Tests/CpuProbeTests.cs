using Nano.Cell.Hypervisor;

namespace Nano.Cell.Tests;

/// <summary>The CPU probe's rules: what is tried, in which order, and what is kept (the real probe runs end to end on KVM).</summary>
public sealed class CpuProbeTests
{
    private static readonly Dictionary<string, string[]> Features = new()
    {
        ["pentium3"] = ["fpu", "sse"], // no long mode: a 64-bit guest cannot run
        ["qemu64"] = ["fpu", "sse2", "lm"],
        ["EPYC"] = ["fpu", "sse2", "lm", "avx", "avx2", "sha-ni"],
        ["Skylake-Client"] = ["fpu", "sse2", "lm", "avx", "avx2"],
        ["Opteron_G5"] = ["fpu", "sse2", "lm", "fma4"],
    };

    [Fact]
    public void AnAmdHostWhereQemuAbortsOnTheHostModes_KeepsTheNamedModelsThatStart_BestFirst()
    {
        var tried = new List<string>();
        var refused = new Dictionary<string, string>();
        var cpus = CpuProbe.Run("sig", ["pentium3", "qemu64", "Opteron_G5", "EPYC", "Skylake-Client"],
            model => Features.GetValueOrDefault(model, []),
            cpu =>
            {
                tried.Add(cpu);
                return cpu switch
                {
                    "host-passthrough" or "host-model" => "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69",
                    "Skylake-Client" => "the CPU is incompatible with host CPU: Host CPU does not provide required features: mpx",
                    _ => null,
                };
            },
            (cpu, reason) => refused[cpu] = reason);

        Assert.Equal(["host-passthrough", "host-model", "EPYC", "Skylake-Client", "Opteron_G5", "qemu64"], tried); // pentium3 is never tried
        Assert.Equal(["EPYC", "Opteron_G5", "qemu64"], cpus.Usable);
        Assert.Equal("EPYC", cpus.Best);
        Assert.Equal("sig", cpus.Signature);
        Assert.Equal(["host-passthrough", "host-model", "Skylake-Client"], refused.Keys.OrderBy(k => tried.IndexOf(k)));
        Assert.Contains("MSR 0x10a", refused["host-passthrough"]);
    }

    [Fact]
    public void AModelLibvirtCannotExpand_IsNotTried()
    {
        var tried = new List<string>();
        var cpus = CpuProbe.Run("sig", ["Mystery"], _ => [], cpu => { tried.Add(cpu); return null; }, (_, _) => { });
        Assert.Equal(["host-passthrough", "host-model"], tried);
        Assert.Equal(["host-passthrough", "host-model"], cpus.Usable);
    }
}
