using Microsoft.Extensions.Logging.Abstractions;
using Nano.Cell.Host;
using Nano.Cell.Hypervisor;
using Nano.Cell.Images;
using Nano.Cell.Instances;
using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Tests;

/// <summary>
/// Security, hostile input that reaches the hosts (issue 13, item 2): the agent does not trust the ids and names a
/// command carries. Whoever speaks for the server sends a glob, a path or a disk number out of range; the agent refuses
/// the command and touches no file, in its storage folder or beside it.
/// </summary>
public sealed class HostileCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("nano-hostile-").FullName;
    private readonly CellStorageManager _storage;
    private readonly CommandDispatcher _commands;
    private readonly string _victim;
    private readonly string _neighbour;

    public HostileCommandTests()
    {
        var hypervisor = new LibvirtHypervisor("test:///default");
        _storage = new CellStorageManager(Path.Combine(_root, "images"), Path.Combine(_root, "mounts"), Path.Combine(_root, "cell.json"));
        Directory.CreateDirectory(_storage.CurrentPath);
        var source = new FileImageSource();
        var instances = new CellInstances(new InstanceHost(hypervisor, _storage, $"cell-{Guid.NewGuid():N}", "127.0.0.1",
            new ImageCache(Path.Combine(_root, "cache"), source, NullLogger.Instance), source));
        // Console tunnels would dial a server at an address nothing listens on: a refused command never gets that far.
        var consoles = new ConsoleTunnels(() => new CellAgentService.CellAgentServiceClient(Grpc.Net.Client.GrpcChannel.ForAddress("http://127.0.0.1:9")), "", hypervisor, NullLogger.Instance);
        _commands = new CommandDispatcher(() => instances, _storage, hypervisor, new ProcHostProbe(), consoles, NullLogger.Instance);
        // Another guest's volume in the storage folder, and a file beside the folder.
        _neighbour = Path.Combine(_storage.CurrentPath, $"{Guid.NewGuid()}_sys.qcow2");
        _victim = Path.Combine(_root, "victim_sys.qcow2");
        File.WriteAllText(_neighbour, "another guest's disk");
        File.WriteAllText(_victim, "a file of the host");
    }

    public static TheoryData<string> HostileIds => ["*", "../victim", "..", "", "0D3C4E2A-0000-4000-8000-000000000000", "x_sys.qcow2"];

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task ADeleteOrReleaseForAnIdThatIsNone_IsRefused_AndDeletesNothing(string id)
    {
        foreach (var command in new[]
        {
            new Command { DeleteInstance = new DeleteInstance { GuestId = id } },
            new Command { ReleaseInstance = new ReleaseInstance { GuestId = id, DeleteFiles = true } },
        })
        {
            var result = await _commands.RunAsync(command, CancellationToken.None);
            Assert.Contains("is not a guest id", result.Error);
        }
        Assert.True(File.Exists(_neighbour) && File.Exists(_victim));
    }

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task DiskCommandsForAnIdThatIsNone_AreRefused_AndTouchNothing(string id)
    {
        foreach (var command in new[]
        {
            new Command { ChangeDisk = new ChangeDisk { GuestId = id, Disk = 0, Size = 1 << 30 } },
            new Command { ResetSystem = new ResetSystem { GuestId = id, Size = 1 << 30 } },
            new Command { ExportSystem = new ExportSystem { GuestId = id, Ticket = "t" } },
            new Command { OpenConsole = new OpenConsole { GuestId = id, Tunnel = Guid.NewGuid().ToString() } },
            new Command { CreateInstance = new CreateInstance { GuestId = id, Cores = 1, Memory = 1 << 28, Disks = { 1 << 20 } } },
            new Command { RedefineInstance = new RedefineInstance { Settings = new CreateInstance { GuestId = id, Cores = 1, Memory = 1 << 28 } } },
        })
        {
            var result = await _commands.RunAsync(command, CancellationToken.None);
            Assert.Contains("is not a guest id", result.Error);
        }
        Assert.Equal("a file of the host", File.ReadAllText(_victim));
        Assert.Equal([_neighbour], Directory.GetFiles(_storage.CurrentPath));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(100)]
    public async Task ADiskNumberOutOfRange_IsRefused(int disk)
    {
        var id = Path.GetFileName(_neighbour)[..36];
        var result = await _commands.RunAsync(new Command { ChangeDisk = new ChangeDisk { GuestId = id, Disk = disk, Size = 1 << 30 } }, CancellationToken.None);

        Assert.Contains($"disk {disk} does not exist", result.Error);
        Assert.Equal("another guest's disk", File.ReadAllText(_neighbour));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
