using Microsoft.Extensions.Logging;
using Nano.Cell;

namespace CellScale;

/// <summary>
/// An agent's logger that keeps its last lines (Information and above) in memory: thousands of agents would flood a file,
/// but the bench can tell what the agents of cells that stay offline last did.
/// </summary>
internal sealed class RecentLog : ILogger<CellAgent>
{
    private const int Kept = 12;
    private readonly Queue<string> _lines = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
            return;
        var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}";
        lock (_lines)
        {
            _lines.Enqueue(line);
            if (_lines.Count > Kept)
                _lines.Dequeue();
        }
    }

    public IReadOnlyList<string> Lines()
    {
        lock (_lines)
            return [.. _lines];
    }
}
