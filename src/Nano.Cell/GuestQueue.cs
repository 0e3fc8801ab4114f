namespace Nano.Cell;

/// <summary>
/// Runs the commands for one guest one after another, in the order they arrived; commands for different guests (and
/// those for none) run side by side. A command that waited its turn sees everything done before it: a removal sent after
/// a creation the server gave up on finds the creation finished or undone, never half-way.
/// </summary>
public sealed class GuestQueue
{
    private readonly Dictionary<string, Task> _last = new();

    public Task<T> RunAsync<T>(string? guest, Func<Task<T>> work)
    {
        if (guest is null)
            return work();
        lock (_last)
        {
            var before = _last.GetValueOrDefault(guest) ?? Task.CompletedTask;
            var mine = before.ContinueWith(_ => work(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            _last[guest] = mine;
            mine.ContinueWith(_ => Forget(guest, mine), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            return mine;
        }
    }

    private void Forget(string guest, Task finished)
    {
        lock (_last)
        {
            if (_last.GetValueOrDefault(guest) == finished)
                _last.Remove(guest);
        }
    }
}
