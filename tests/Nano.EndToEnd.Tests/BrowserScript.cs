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
        Assert.True(File.Exists("/usr/bin/chromium"), "Chromium is not installed: run the suite through ./tools/test, which installs it");
        var info = new ProcessStartInfo("node") { WorkingDirectory = Repository.Root };
        info.ArgumentList.Add(Path.Combine("tests", "browser", script));
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.Environment["NODE_PATH"] = Path.Combine(Repository.Root, "tools", "node_modules");
        using var node = new WatchedProcess(info, script);
        var code = await node.WaitForExitAsync(TimeSpan.FromMinutes(3));
        output.WriteLine($"$ node tests/browser/{script} {string.Join(' ', arguments)}  (exit {code})\n{node.Output}");
        Assert.True(code == 0, $"{script} failed:\n{node.Output}");
        return JsonNode.Parse(node.Output.TrimEnd().Split('\n')[^1])!;
    }
}
