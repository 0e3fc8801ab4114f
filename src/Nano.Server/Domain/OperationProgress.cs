using Nano.Server.Data;

namespace Nano.Server.Domain;

/// <summary>What a running operation reports: its stage and percent.</summary>
public sealed class OperationProgress(Guid id, OperationRepository rows, OperationFeed feed)
{
    public Guid Id => id;

    /// <summary>The progress of a step that fills percents <paramref name="from"/> to <paramref name="to"/> of the operation: its own 0-100, scaled.</summary>
    public Func<int, Task> Within(string stage, int from, int to) => Scaled(percent => ReportAsync(stage, percent), from, to);

    /// <summary>A progress report that takes 0-100 and passes on <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static Func<int, Task> Scaled(Func<int, Task> report, int from, int to) => percent => report(from + percent * (to - from) / 100);

    public async Task ReportAsync(string stage, int percent)
    {
        if (await rows.ProgressAsync(id, stage, percent))
            feed.Publish(id);
    }
}
