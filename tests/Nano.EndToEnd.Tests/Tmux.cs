using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// A terminal a test types into as a person would: a tmux server of its own (its own socket), one window of 160x40
/// running bash; send-keys types, capture-pane reads the screen.
/// </summary>
public sealed class Tmux : IDisposable
{
    private readonly string _socket = $"nano-e2e-{Guid.NewGuid():N}"[..20];

    public Tmux(IReadOnlyDictionary<string, string> environment)
    {
        Assert.True(File.Exists("/usr/bin/tmux"), "tmux is not installed: run the suite through ./tools/test, which installs it");
        var start = new List<string> { "new-session", "-d", "-s", "t", "-x", "160", "-y", "40" };
        foreach (var (name, value) in environment)
            start.AddRange(["-e", $"{name}={value}"]);
        start.AddRange(["bash", "--norc", "--noprofile"]);
        Run([.. start]);
    }

    /// <summary>Types <paramref name="text"/> and Enter.</summary>
    public void Type(string text)
    {
        Run("send-keys", "-t", "t", "-l", text);
        Run("send-keys", "-t", "t", "Enter");
    }

    /// <summary>What the window shows now (with what scrolled off it).</summary>
    public string Screen() => Run("capture-pane", "-p", "-t", "t", "-S", "-200");

    /// <summary>Waits until the screen shows <paramref name="text"/>; the screen then.</summary>
    public Task<string> WaitForAsync(string text, TimeSpan patience) => WaitForAsync(new Regex(Regex.Escape(text)), patience);

    /// <summary>Waits until the screen matches <paramref name="pattern"/> (a command's typed line shows too: match what only its output prints).</summary>
    public async Task<string> WaitForAsync(Regex pattern, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        string screen;
        while (!pattern.IsMatch(screen = Screen()))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the terminal did not show /{pattern}/ within {patience.TotalSeconds} s; it shows:\n{screen}");
            await Task.Delay(200);
        }
        return screen;
    }

    public void Dispose() => Run("kill-server");

    private string Run(params string[] args)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-L");
        info.ArgumentList.Add(_socket);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var tmux = Process.Start(info)!;
        var output = tmux.StandardOutput.ReadToEnd();
        tmux.WaitForExit();
        return output;
    }
}
