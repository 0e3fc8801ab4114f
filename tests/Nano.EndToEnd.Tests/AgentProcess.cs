using System.Diagnostics;
using System.Text;

namespace Nano.EndToEnd.Tests;

/// <summary>A real nano-cell process (the built agent), with its output kept for assertions.</summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AgentProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    public static AgentProcess Start(params string[] args)
    {
        var agent = Path.Combine(AppContext.BaseDirectory, "nano-cell.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(agent);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        info.Environment["Logging__Console__FormatterName"] = "simple";
        return new AgentProcess(Process.Start(info) ?? throw new InvalidOperationException("cannot start nano-cell"));
    }

    /// <summary>SIGKILL: the agent dies without a word.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM: the agent stops in order (it says goodbye); returns how long it took to exit.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var started = DateTime.UtcNow;
        Signal("TERM");
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return DateTime.UtcNow - started;
    }

    /// <summary>SIGSTOP / SIGCONT: the agent's stream stays open but it falls silent.</summary>
    public void Freeze() => Signal("STOP");

    public void Thaw() => Signal("CONT");

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"nano-cell did not print '{text}' within {timeout.TotalSeconds} s; it printed:\n{Output}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Thaw();
            await KillAsync();
        }
        _process.Dispose();
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()]);
        kill.WaitForExit();
    }

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }
}
