using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// The README's platform command, tools/nano up, as a user runs it: in a data folder made by mktemp -d (mode 0700), it
/// watches what it starts. A server that cannot start, or a cell that dies, stops everything with a non-zero exit that
/// names what died and its log; Ctrl-C stops everything. Either way no process of it is left.
/// </summary>
public sealed class NanoUpTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly string Root = FindRoot();
    private readonly string _data = Directory.CreateTempSubdirectory("nano-up-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task APortAlreadyTaken_StopsNanoUp_NonZero_NamingTheServerAndItsLog_LeavingNoProcess()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0); // listens, never answers
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await using var up = NanoUp.Start(Root, _data, port, FreePort(), cell: false);

        var code = await up.ExitAsync(TimeSpan.FromMinutes(2));
        output.WriteLine(up.Output);
        Assert.NotEqual(0, code);
        Assert.Contains("nano-server exited", up.Output);
        Assert.Contains($"{_data}/logs/server.log", up.Output);
        Assert.Contains("address already in use", up.Output);
        Assert.DoesNotContain("Unhandled exception", up.Output); // a fault of the host, said in a line, not a crash
        Assert.Empty(ProcessesOf(_data));
    }

    [Fact]
    public async Task WhenTheCellDies_NanoUpStopsTheServerAndItsDatabase_AndCtrlCStopsEverything()
    {
        var (rest, grpc) = (FreePort(), FreePort());
        await using (var up = NanoUp.Start(Root, _data, rest, grpc, cell: true))
        {
            await up.WaitForAsync("Joined https://", TimeSpan.FromMinutes(2));
            var token = File.ReadAllText(Path.Combine(_data, "cell-token")).Trim();
            Assert.DoesNotContain(ProcessesOf(_data), p => p.CommandLine.Contains(token)); // not in ps for every local user to read
            var cell = Assert.Single(ProcessesOf(_data), p => p.CommandLine.Contains("nano-cell.dll"));
            Assert.Contains(ProcessesOf(_data), p => p.CommandLine.Contains("postgres"));
            Process.GetProcessById(cell.Pid).Kill();

            var code = await up.ExitAsync(TimeSpan.FromMinutes(1));
            output.WriteLine(up.Output);
            Assert.NotEqual(0, code);
            Assert.Contains("nano-cell exited", up.Output);
            Assert.Contains($"{_data}/logs/cell.log", up.Output);
            Assert.Empty(ProcessesOf(_data));
        }

        // Again on the same folder, stopped with Ctrl-C.
        await using (var up = NanoUp.Start(Root, _data, rest, grpc, cell: true))
        {
            await up.WaitForAsync("Joined https://", TimeSpan.FromMinutes(2));
            up.Interrupt();
            Assert.Equal(0, await up.ExitAsync(TimeSpan.FromMinutes(1)));
            output.WriteLine(up.Output);
            Assert.Empty(ProcessesOf(_data));
        }
    }

    /// <summary>Processes whose command line names the folder (server, cell, PostgreSQL, log writers).</summary>
    private static List<(int Pid, string CommandLine)> ProcessesOf(string folder)
    {
        var found = new List<(int, string)>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains(folder))
                    found.Add((pid, commandLine));
            }
            catch (IOException)
            {
            }
        }
        return found;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tools", "nano")))
                return dir.FullName;
        }
        throw new InvalidOperationException("tools/nano not found above the test's folder");
    }

    /// <summary>One run of tools/nano up (built already: --no-build), its output kept.</summary>
    private sealed class NanoUp(WatchedProcess process) : IAsyncDisposable
    {
        public string Output => process.Output;

        public static NanoUp Start(string root, string data, int rest, int grpc, bool cell)
        {
            var info = new ProcessStartInfo("bash") { WorkingDirectory = root };
            foreach (var arg in new[] { "tools/nano", "up", "--data-dir", data, "--port", $"{rest}", "--grpc-port", $"{grpc}", "--no-build", "--ready-timeout", "90" })
                info.ArgumentList.Add(arg);
            if (!cell)
                info.ArgumentList.Add("--no-cell");
            info.Environment.Remove("NANO_DATABASE");
            return new NanoUp(new WatchedProcess(info, "nano up"));
        }

        public async Task WaitForAsync(string text, TimeSpan patience)
        {
            var waiting = process.WaitForOutputAsync(text, patience);
            while (!waiting.IsCompleted)
            {
                Assert.False(process.HasExited && !process.Output.Contains(text), $"nano up exited before '{text}':\n{Output}");
                await Task.WhenAny(waiting, Task.Delay(200));
            }
            await waiting;
        }

        public Task<int> ExitAsync(TimeSpan patience) => process.WaitForExitAsync(patience);

        /// <summary>What Ctrl-C sends.</summary>
        public void Interrupt() => process.Signal("INT");

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                Interrupt();
                await process.WaitForExitAsync(TimeSpan.FromMinutes(1)).ContinueWith(_ => { }, TaskScheduler.Default);
                if (!process.HasExited)
                    process.Kill();
            }
            process.Dispose();
        }
    }
}
