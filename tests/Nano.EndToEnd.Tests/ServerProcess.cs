using System.Diagnostics;

namespace Nano.EndToEnd.Tests;

/// <summary>The built nano-server as a process of its own (so a test can SIGKILL it), on loopback over plain HTTP.</summary>
public static class ServerProcess
{
    /// <summary>
    /// Starts nano-server on <paramref name="database"/> with its REST and gRPC ports, data folder and cells' join token,
    /// <paramref name="settings"/> beside them (as "Section:Key" names); returns once it says it is ready.
    /// </summary>
    public static async Task<WatchedProcess> StartAsync(
        string name, string database, int restPort, int grpcPort, string dataDir, string token, params (string Key, string Value)[] settings)
    {
        var info = new ProcessStartInfo("dotnet");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "nano-server.dll"));
        info.Environment["Nano__Database"] = database;
        info.Environment["Nano__Address"] = "127.0.0.1";
        info.Environment["Nano__RestPort"] = restPort.ToString();
        info.Environment["Nano__GrpcPort"] = grpcPort.ToString();
        info.Environment["Nano__DataDir"] = dataDir;
        info.Environment["Nano__CellToken"] = token;
        info.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in settings)
            info.Environment[key.Replace(":", "__")] = value;
        var server = new WatchedProcess(info, name);
        try
        {
            await server.WaitForOutputAsync("nano-server ready", TimeSpan.FromSeconds(90));
            return server;
        }
        catch
        {
            server.Kill(); // not ready: it goes with the failure, not left running
            server.Dispose();
            throw;
        }
    }
}
