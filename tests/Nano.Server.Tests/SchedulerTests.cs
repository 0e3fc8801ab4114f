using Grpc.Core;
using Nano.Server.Data;
using Nano.Server.Domain;

namespace Nano.Server.Tests;

/// <summary>The scheduler: enabled, alive cells that fit; the most free memory wins.</summary>
public sealed class SchedulerTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public void TheFittingCellWithTheMostFreeMemory_Wins()
    {
        var cells = new[] { Cell("a", memory: 8 * GiB), Cell("b", memory: 16 * GiB), Cell("c", memory: 12 * GiB) };
        Assert.Equal("b", Scheduler.Choose("p", cells, 2, 4 * GiB, 10 * GiB).Name);
    }

    [Fact]
    public void DisabledDeadAndTooSmallCells_AreSkipped()
    {
        var cells = new[]
        {
            Cell("disabled", memory: 64 * GiB, enabled: false),
            Cell("dead", memory: 64 * GiB, alive: false),
            Cell("few-cores", memory: 32 * GiB, cores: 1),
            Cell("small-disk", memory: 32 * GiB, disk: 5 * GiB),
            Cell("fits", memory: 8 * GiB),
        };
        Assert.Equal("fits", Scheduler.Choose("p", cells, 2, 4 * GiB, 10 * GiB).Name);
    }

    [Fact]
    public void Ties_AreBrokenByName()
    {
        var cells = new[] { Cell("z", memory: 8 * GiB), Cell("m", memory: 8 * GiB) };
        Assert.Equal("m", Scheduler.Choose("p", cells, 1, GiB, GiB).Name);
    }

    [Theory]
    [InlineData(64, 1L << 30, 1L << 30, "64 cores (the largest cell has 4)")]
    [InlineData(1, 1L << 40, 1L << 30, "1099511627776 bytes of free memory")]
    [InlineData(1, 1L << 30, 1L << 40, "1099511627776 bytes of free disk")]
    public void NoFittingCell_FailsNamingTheShortage(int cores, long memory, long disk, string shortage)
    {
        var e = Assert.Throws<RpcException>(() => Scheduler.Choose("p", [Cell("a", memory: 8 * GiB)], cores, memory, disk));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains(shortage, e.Status.Detail);
    }

    [Fact]
    public void APoolWithoutLiveCells_FailsClearly()
    {
        var e = Assert.Throws<RpcException>(() => Scheduler.Choose("p", [Cell("a", memory: GiB, alive: false)], 1, 1, 1));
        Assert.Equal("compute pool 'p' has no enabled cell that is alive", e.Status.Detail);
        e = Assert.Throws<RpcException>(() => Scheduler.Choose("p", [], 1, 1, 1));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
    }

    private static CellRow Cell(string name, long memory, int cores = 4, long disk = 100 * GiB, bool enabled = true, bool alive = true) =>
        new() { Name = name, Address = "127.0.0.1", Pool = "p", Enabled = enabled, Alive = alive, Cores = cores, AvailableMemory = memory, AvailableDisk = disk };
}
