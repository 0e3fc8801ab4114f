using System.Diagnostics;
using System.Text;

namespace Nano.EndToEnd.Tests;

/// <summary>A child process of a test, its output (both streams) kept for assertions, signalled as a user would.</summary>
public sealed class WatchedProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public WatchedProcess(ProcessStartInfo info, string name)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        Name = name;
        _process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {name}");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Sends a signal by name (TERM, INT, STOP, CONT).</summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString()]);
        kill.WaitForExit();
    }

    /// <summary>SIGKILL to the process and its children.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Name} did not print '{text}' within {timeout.TotalSeconds} s; it printed:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits for the exit (its output read to the end) and returns the exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose() => _process.Dispose();

    private void Append(string? line)
    {
        if (line is null)
            return;
        lock (_output)
            _output.AppendLine(line);
    }
}
