using Microsoft.Extensions.Logging;
using Nano.Cell.Instances;
using Nano.Cell.Host;
using Nano.Cell.Hypervisor;
using Nano.Cell.Storage;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell;

/// <summary>
/// Carries out the commands the server sends, apart from the stream that brings them: each runs until its deadline,
/// on the part of the agent that does it (storage, guests), and every failure becomes the result's error. A result
/// that says nothing of a guest carries the cell's storage. Commands for one guest run in the order they came
/// (<see cref="GuestQueue"/>); a command whose id was seen before is answered with the first one's result, not run again.
/// </summary>
public sealed class CommandDispatcher(Func<CellInstances> instances, CellStorageManager storage, IHypervisor hypervisor, IHostProbe probe, ConsoleTunnels consoles, ILogger logger)
{
    /// <summary>How many results are remembered by command id.</summary>
    public const int Remembered = 1024;

    private readonly GuestQueue _queue = new();
    private readonly Dictionary<string, Task<CommandResult>> _results = new();
    private readonly Queue<string> _resultOrder = new();

    /// <summary>Runs one command in its guest's turn, until its deadline; every failure becomes the result's error.</summary>
    public Task<CommandResult> RunAsync(Command command, CancellationToken token, Action<int>? progress = null)
    {
        string? guest;
        try
        {
            guest = GuestIdOf(command);
        }
        catch (Exception e)
        {
            logger.LogWarning("Command {Kind} refused: {Reason}", command.BodyCase, e.Message);
            return Task.FromResult(new CommandResult { Id = command.Id, Error = e.Message });
        }
        lock (_results)
        {
            if (command.Id.Length > 0 && _results.TryGetValue(command.Id, out var earlier))
                return earlier;
            // Opening a console changes nothing: it need not wait behind a guest's long work.
            var ordered = command.BodyCase == Command.BodyOneofCase.OpenConsole ? null : guest;
            var result = _queue.RunAsync(ordered, () => RunNowAsync(command, token, progress ?? (_ => { })));
            if (command.Id.Length > 0)
            {
                _results[command.Id] = result;
                _resultOrder.Enqueue(command.Id);
                if (_resultOrder.Count > Remembered)
                    _results.Remove(_resultOrder.Dequeue());
            }
            return result;
        }
    }

    private async Task<CommandResult> RunNowAsync(Command command, CancellationToken token, Action<int> progress)
    {
        var result = new CommandResult { Id = command.Id };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(token);
        if (command.Deadline is { } at)
        {
            var left = at.ToDateTime() - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                // The server has given up on it (and undone its side): doing it now would leave an orphan.
                result.Error = $"the command's deadline passed {-left.TotalSeconds:0.0} s before it could run";
                return result;
            }
            deadline.CancelAfter(left);
        }
        try
        {
            switch (command.BodyCase)
            {
                case Command.BodyOneofCase.AttachStorage:
                    result.Error = await storage.AttachAsync(command.AttachStorage, deadline.Token);
                    break;
                case Command.BodyOneofCase.DetachStorage:
                    await storage.DetachAsync(command.DetachStorage.Pool, deadline.Token);
                    break;
                case Command.BodyOneofCase.ChangeStoragePath:
                    result.Error = storage.ChangeLocalPath(command.ChangeStoragePath.Path);
                    break;
                case Command.BodyOneofCase.CreateInstance:
                    result.Instance = await instances().Lifecycle.CreateAsync(command.CreateInstance, progress, deadline.Token);
                    break;
                case Command.BodyOneofCase.DeleteInstance:
                    result.Instance = instances().Lifecycle.Delete(command.DeleteInstance.GuestId);
                    break;
                case Command.BodyOneofCase.StartInstance:
                    result.Instance = await instances().Lifecycle.StartAsync(command.StartInstance.GuestId, command.StartInstance.Media, command.StartInstance.Generation, command.StartInstance.Cpu, progress, deadline.Token);
                    break;
                case Command.BodyOneofCase.CreateSnapshot:
                    result.Instance = instances().Snapshots.Snapshot(command.CreateSnapshot.GuestId, SnapshotAction.Create, command.CreateSnapshot.Name, command.CreateSnapshot.Description);
                    break;
                case Command.BodyOneofCase.RevertSnapshot:
                    result.Instance = instances().Snapshots.Snapshot(command.RevertSnapshot.GuestId, SnapshotAction.Revert, command.RevertSnapshot.Name, "");
                    break;
                case Command.BodyOneofCase.DeleteSnapshot:
                    result.Instance = instances().Snapshots.Snapshot(command.DeleteSnapshot.GuestId, SnapshotAction.Delete, command.DeleteSnapshot.Name, "");
                    break;
                case Command.BodyOneofCase.SetGuestPassword:
                    hypervisor.SetUserPassword(command.SetGuestPassword.GuestId, command.SetGuestPassword.User, command.SetGuestPassword.Password);
                    break;
                case Command.BodyOneofCase.ResetSystem:
                    result.Instance = await instances().Disks.ResetSystemAsync(command.ResetSystem, progress, deadline.Token);
                    break;
                case Command.BodyOneofCase.ChangeDisk:
                    result.Instance = await instances().Disks.ChangeDiskAsync(command.ChangeDisk, deadline.Token);
                    break;
                case Command.BodyOneofCase.RedefineInstance:
                    result.Instance = instances().Lifecycle.Redefine(command.RedefineInstance.Settings);
                    break;
                case Command.BodyOneofCase.InsertMedia:
                    result.Instance = await instances().Media.ChangeMediaAsync(command.InsertMedia.GuestId, command.InsertMedia.Image, progress, deadline.Token);
                    break;
                case Command.BodyOneofCase.EjectMedia:
                    result.Instance = await instances().Media.ChangeMediaAsync(command.EjectMedia.GuestId, null, progress, deadline.Token);
                    break;
                case Command.BodyOneofCase.ExportSystem:
                    result.Instance = await instances().Disks.ExportSystemAsync(command.ExportSystem, progress, deadline.Token);
                    break;
                case Command.BodyOneofCase.ExportVolumes:
                    result.Instance = await instances().Departures.ExportVolumesAsync(command.ExportVolumes, progress, deadline.Token);
                    break;
                case Command.BodyOneofCase.ImportInstance:
                    result.Instance = await instances().Arrivals.ImportAsync(command.ImportInstance, progress, deadline.Token);
                    break;
                case Command.BodyOneofCase.ReleaseInstance:
                    result.Instance = instances().Departures.Release(command.ReleaseInstance);
                    break;
                case Command.BodyOneofCase.ApplySecurityPolicy:
                    instances().Firewalls.Apply(command.ApplySecurityPolicy.GuestId, command.ApplySecurityPolicy.Policy);
                    break;
                case Command.BodyOneofCase.StopInstance:
                    result.Instance = instances().Lifecycle.Stop(command.StopInstance.GuestId, command.StopInstance.Reboot, command.StopInstance.Force);
                    break;
                case Command.BodyOneofCase.InspectInstance:
                    result.Instance = instances().Host.Inspect(command.InspectInstance.GuestId);
                    break;
                case Command.BodyOneofCase.OpenConsole:
                    result.Error = await consoles.OpenAsync(command.OpenConsole, deadline.Token);
                    break;
                default:
                    result.Error = $"this agent does not know the command {command.BodyCase}";
                    break;
            }
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Command {Kind} failed", command.BodyCase);
            result.Error = e.Message;
        }
        if (result.BodyCase == CommandResult.BodyOneofCase.None)
        {
            var (total, available) = probe.Space(storage.CurrentPath);
            result.Storage = storage.Describe(total, available);
        }
        return result;
    }

    /// <summary>
    /// The guest a command is for (its body's guest_id, or its settings'), null for none; refuses one that is not a guest
    /// id: ids become file and domain names, so "*" or "../x" must never reach a handler.
    /// </summary>
    private static string? GuestIdOf(Command command)
    {
        if (command.BodyCase == Command.BodyOneofCase.None)
            return null;
        var body = (Google.Protobuf.IMessage)Command.Descriptor.FindFieldByNumber((int)command.BodyCase).Accessor.GetValue(command);
        var owner = body.Descriptor.FindFieldByName("settings") is { } settings && settings.Accessor.GetValue(body) is Google.Protobuf.IMessage inner ? inner : body;
        if (owner.Descriptor.FindFieldByName("guest_id") is not { } field)
            return null;
        var id = (string)field.Accessor.GetValue(owner);
        InstanceFiles.RequireId(id);
        return id;
    }
}
