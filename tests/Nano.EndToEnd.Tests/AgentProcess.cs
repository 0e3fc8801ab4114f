using System.Diagnostics;

namespace Nano.EndToEnd.Tests;

/// <summary>A real nano-cell process (the built agent), with its output kept for assertions.</summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly WatchedProcess _process;

    private AgentProcess(WatchedProcess process) => _process = process;

    public string Output => _process.Output;

    public bool HasExited => _process.HasExited;

    public static AgentProcess Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "nano-cell.dll"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        return new AgentProcess(new WatchedProcess(info, "nano-cell"));
    }

    /// <summary>SIGKILL: the agent dies without a word.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM: the agent stops in order (it says goodbye); returns how long it took to exit.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var started = DateTime.UtcNow;
        _process.Signal("TERM");
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return DateTime.UtcNow - started;
    }

    /// <summary>SIGSTOP / SIGCONT: the agent's stream stays open but it falls silent.</summary>
    public void Freeze() => _process.Signal("STOP");

    public void Thaw() => _process.Signal("CONT");

    public Task WaitForOutputAsync(string text, TimeSpan timeout) => _process.WaitForOutputAsync(text, timeout);

    /// <summary>Waits for the agent to exit by itself; its exit code.</summary>
    public Task<int> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Thaw();
            await KillAsync();
        }
        _process.Dispose();
    }
}
