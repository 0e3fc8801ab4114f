using Nano.Server.Data;

namespace Nano.Server.Domain;

/// <summary>What a running operation reports: its stage and percent.</summary>
public sealed class OperationProgress(Guid id, OperationRepository rows, OperationFeed feed)
{
    public Guid Id => id;

    public async Task ReportAsync(string stage, int percent)
    {
        if (await rows.ProgressAsync(id, stage, percent))
            feed.Publish(id);
    }
}
