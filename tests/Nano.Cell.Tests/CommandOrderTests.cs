using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Nano.Cell.Host;
using Nano.Cell.Hypervisor;
using Nano.Cell.Images;
using Nano.Cell.Instances;
using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Tests;

/// <summary>
/// Issue 14, item 6: commands cannot race on a cell. Commands for one guest run in the order they came, so what the
/// server sends after a creation (a removal after it gave up, an inspection after it restarted) sees the creation ended;
/// a command id seen before is answered with what happened, not run twice; a command that waited its turn past its
/// deadline is not run at all. On libvirt's test driver with real qcow2 volumes.
/// </summary>
public sealed class CommandOrderTests : IDisposable
{
    private const long MiB = 1L << 20;
    private readonly string _root = Directory.CreateTempSubdirectory("nano-order-").FullName;
    private readonly string _cell = $"cell-{Guid.NewGuid():N}";
    private readonly LibvirtHypervisor _hypervisor = new("test:///default");
    private readonly CellStorageManager _storage;
    private readonly CommandDispatcher _commands;

    public CommandOrderTests()
    {
        _storage = new CellStorageManager(Path.Combine(_root, "images"), Path.Combine(_root, "mounts"), Path.Combine(_root, "cell.json"));
        Directory.CreateDirectory(_storage.CurrentPath);
        var source = new FileImageSource();
        var instances = new CellInstances(new InstanceHost(_hypervisor, _storage, _cell, "127.0.0.1",
            new ImageCache(Path.Combine(_root, "cache"), source, NullLogger.Instance), source));
        var consoles = new ConsoleTunnels(() => new CellAgentService.CellAgentServiceClient(Grpc.Net.Client.GrpcChannel.ForAddress("http://127.0.0.1:9")), "", _hypervisor, NullLogger.Instance);
        _commands = new CommandDispatcher(() => instances, _storage, _hypervisor, new ProcHostProbe(), consoles, NullLogger.Instance);
    }

    public void Dispose()
    {
        _hypervisor.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task AnInspectionSentDuringACreation_AnswersOnceTheCreationHasEnded()
    {
        var guest = Guid.NewGuid().ToString();
        var creating = _commands.RunAsync(Command("c1", create: guest), CancellationToken.None);
        var inspected = await _commands.RunAsync(new Command { Id = "i1", InspectInstance = new InspectInstance { GuestId = guest } }, CancellationToken.None);
        Assert.True(creating.IsCompleted);
        Assert.Equal("", (await creating).Error);
        Assert.True(inspected.Instance.Defined);
        Assert.Equal(DomainState.Stopped, inspected.Instance.State);
        Assert.Equal(2, inspected.Instance.Volumes.Count);

        // Another guest's inspection does not wait for anything; a guest never made is not defined.
        var none = await _commands.RunAsync(new Command { Id = "i2", InspectInstance = new InspectInstance { GuestId = Guid.NewGuid().ToString() } }, CancellationToken.None);
        Assert.False(none.Instance.Defined);
    }

    [Fact]
    public async Task ARemovalSentDuringACreation_RemovesWhatTheCreationMade()
    {
        var guest = Guid.NewGuid().ToString();
        var creating = _commands.RunAsync(Command("c2", create: guest), CancellationToken.None);
        var deleted = await _commands.RunAsync(new Command { Id = "d2", DeleteInstance = new DeleteInstance { GuestId = guest } }, CancellationToken.None);
        Assert.Equal(("", ""), ((await creating).Error, deleted.Error));
        Assert.Null(_hypervisor.Find(guest));
        Assert.Empty(Directory.GetFiles(_storage.CurrentPath, $"{guest}_*"));
    }

    [Fact]
    public async Task ACommandSentAgain_IsAnsweredWithTheFirstResult_NotRunTwice()
    {
        var guest = Guid.NewGuid().ToString();
        var first = await _commands.RunAsync(Command("c3", create: guest), CancellationToken.None);
        var again = await _commands.RunAsync(Command("c3", create: guest), CancellationToken.None);
        Assert.Equal("", first.Error);
        Assert.Same(first, again);
        // Under a new id the same creation runs, and is refused: the domain exists.
        var another = await _commands.RunAsync(Command("c4", create: guest), CancellationToken.None);
        Assert.Contains("already has a domain", another.Error);
    }

    [Fact]
    public async Task ACommandWhoseDeadlinePassesWhileItWaitsItsTurn_IsNotRun()
    {
        var guest = Guid.NewGuid().ToString();
        var creating = _commands.RunAsync(Command("c5", create: guest), CancellationToken.None);
        var late = await _commands.RunAsync(new Command
        {
            Id = "d5", Deadline = Timestamp.FromDateTime(DateTime.UtcNow.AddMilliseconds(1)), DeleteInstance = new DeleteInstance { GuestId = guest },
        }, CancellationToken.None);
        Assert.Equal("", (await creating).Error);
        Assert.Contains("deadline passed", late.Error);
        Assert.NotNull(_hypervisor.Find(guest));
    }

    private static Command Command(string id, string create) => new()
    {
        Id = id,
        CreateInstance = new CreateInstance
        {
            GuestId = create, Cores = 1, Memory = 128 * MiB, Disks = { 64 * MiB, 32 * MiB },
            Hardware = new Hardware { OperatingSystem = "linux", DiskBus = "sata", NicModel = "virtio", Display = "vga", Control = "vnc" },
            Mac = "00:16:3e:12:34:57", MonitorSecret = "s3cretVN",
        },
    };
}
