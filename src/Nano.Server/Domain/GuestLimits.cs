using Nano.Server.Domain.Rules;
using Nano.Server.Hosting;

namespace Nano.Server.Domain;

/// <summary>
/// The largest guest anyone may have: the limits GET /system/ shows the portal for its sliders (Nano:MaxCores,
/// MaxMemoryGb, MaxDiskGb, per disk), enforced on creation (batches included) and on every later change of size.
/// </summary>
public sealed record GuestLimits(int Cores, long Memory, long Disk)
{
    public static GuestLimits From(NanoOptions options) => new(options.MaxCores, (long)options.MaxMemoryGb << 30, (long)options.MaxDiskGb << 30);

    public void RequireCores(int cores)
    {
        if (cores <= 0 || cores > Cores)
            throw Fail.Invalid($"cores must be between 1 and {Cores}");
    }

    public void RequireMemory(long bytes)
    {
        if (bytes <= 0 || bytes > Memory)
            throw Fail.Invalid($"memory must be between 1 byte and {Memory >> 30} GiB");
    }

    public void RequireDisk(long bytes)
    {
        if (bytes <= 0 || bytes > Disk)
            throw Fail.Invalid($"a disk must be between 1 byte and {Disk >> 30} GiB");
    }
}
