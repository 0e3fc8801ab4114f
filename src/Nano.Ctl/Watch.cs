using Grpc.Core;
using Nano.Contracts.V1;
using Spectre.Console;

namespace Nano.Ctl;

/// <summary>Follows an operation through the server's watch stream until it ends.</summary>
public static class Watch
{
    /// <summary>With a progress bar fed by each update (its percent and stage); the operation as it ended.</summary>
    public static async Task<Operation> ProgressAsync(Connection connection, string id, string title, CancellationToken cancel)
    {
        Operation last = new();
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape(title), maxValue: 100);
                last = await FollowAsync(connection, id, update =>
                {
                    task.Value = update.Percent;
                    if (update.Stage.Length > 0)
                        task.Description = Markup.Escape($"{title}: {update.Stage}");
                }, cancel);
                if (last.State == "succeeded")
                    task.Value = 100;
                task.Description = Markup.Escape($"{title}: {last.State}");
                task.StopTask();
            });
        return last;
    }

    /// <summary>Without output; the operation as it ended.</summary>
    public static Task<Operation> QuietAsync(Connection connection, string id, CancellationToken cancel) => FollowAsync(connection, id, _ => { }, cancel);

    private static async Task<Operation> FollowAsync(Connection connection, string id, Action<Operation> update, CancellationToken cancel)
    {
        using var watch = new OperationService.OperationServiceClient(connection.Channel).WatchOperation(new WatchOperationRequest { Id = id }, connection.Call(cancel));
        Operation last = new() { Id = id };
        while (await watch.ResponseStream.MoveNext(cancel))
        {
            last = watch.ResponseStream.Current.Data;
            update(last);
            if (last.Finished)
                break;
        }
        return last;
    }
}
