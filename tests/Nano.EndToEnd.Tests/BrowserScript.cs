using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit.Abstractions;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// A script of tests/browser run by node: headless Debian Chromium driven by playwright-core (tools/node_modules, which
/// ./tools/test installs, as it installs Chromium). Its last line of output is its result as JSON.
/// </summary>
public static class BrowserScript
{
    public static async Task<JsonNode> RunAsync(ITestOutputHelper output, string script, params string[] arguments)
    {
        using var node = Start(script, arguments);
        return await ResultAsync(output, node);
    }

    /// <summary>Starts the script; <see cref="ResultAsync"/> waits for its end.</summary>
    public static WatchedProcess Start(string script, params string[] arguments)
    {
        Assert.True(File.Exists("/usr/bin/chromium"), "Chromium is not installed: run the suite through ./tools/test, which installs it");
        var info = new ProcessStartInfo("node") { WorkingDirectory = Repository.Root };
        info.ArgumentList.Add(Path.Combine("tests", "browser", script));
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.Environment["NODE_PATH"] = Path.Combine(Repository.Root, "tools", "node_modules");
        return new WatchedProcess(info, script);
    }

    /// <summary>Waits for the script to end; fails the test unless it exited 0; its result (last line).</summary>
    public static async Task<JsonNode> ResultAsync(ITestOutputHelper output, WatchedProcess node)
    {
        var code = await node.WaitForExitAsync(TimeSpan.FromMinutes(6));
        output.WriteLine($"$ node tests/browser/{node.Name}  (exit {code})\n{node.Output}");
        Assert.True(code == 0, $"{node.Name} failed:\n{node.Output}");
        return JsonNode.Parse(node.Output.TrimEnd().Split('\n')[^1])!;
    }
}
