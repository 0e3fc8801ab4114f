using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Nano.Libvirt;

namespace Nano.EndToEnd.Tests;

/// <summary>
/// A second libvirtd on this machine, as if on another host: its own mount namespace hides the first one's state
/// (/run/libvirt, /var/lib/libvirt, a copy of /etc/libvirt without domains or networks), it has a host UUID of its
/// own, its own virtlockd for disk leases, and it listens on qemu+tcp://127.0.0.1:port/system. Its consoles and incoming migrations use ports of their own
/// (6900+, 49400+), since both daemons allocate ports on one network stack while other tests run guests. Disposing
/// destroys its domains and stops it.
/// </summary>
public sealed class SecondLibvirtd : IAsyncDisposable
{
    private readonly string _folder;

    private SecondLibvirtd(string folder, int port)
    {
        _folder = folder;
        Uri = $"qemu+tcp://127.0.0.1:{port}/system";
    }

    public string Uri { get; }

    public static async Task<SecondLibvirtd> StartAsync(string folder)
    {
        Directory.CreateDirectory(folder);
        var port = Nano.Testing.TestServer.FreePort();
        File.WriteAllText(Path.Combine(folder, "libvirtd.conf"), $"""
            listen_tls = 0
            listen_tcp = 1
            listen_addr = "127.0.0.1"
            tcp_port = "{port}"
            auth_tcp = "none"
            host_uuid = "{Guid.NewGuid()}"
            """);
        var etc = Path.Combine(folder, "etc");
        var script = $"""
            set -e
            mount -t tmpfs tmpfs /run/libvirt
            mount -t tmpfs tmpfs /var/lib/libvirt
            mount -t tmpfs tmpfs /var/log/libvirt
            mkdir -p {etc} /var/lib/libvirt/qemu
            cp -r /etc/libvirt/. {etc}/
            rm -rf {etc}/qemu/*.xml {etc}/qemu/autostart {etc}/qemu/networks {etc}/nwfilter/nano-*.xml
            printf '%s\n' 'remote_display_port_min = 6900' 'remote_display_port_max = 6999' 'migration_port_min = 49400' 'migration_port_max = 49463' >> {etc}/qemu.conf
            mount --bind {etc} /etc/libvirt
            virtlogd -d -p {folder}/virtlogd.pid
            virtlockd -d -p {folder}/virtlockd.pid
            libvirtd -d --listen -p {folder}/libvirtd.pid -f {folder}/libvirtd.conf
            """;
        using (var unshare = Process.Start(new ProcessStartInfo("unshare", ["-m", "--propagation", "private", "bash", "-c", script]) { RedirectStandardError = true })!)
        {
            var errors = await unshare.StandardError.ReadToEndAsync();
            await unshare.WaitForExitAsync();
            Assert.True(unshare.ExitCode == 0, $"the second libvirtd did not start: {errors}");
        }
        var daemon = new SecondLibvirtd(folder, port);
        await WaitUntilAnswersAsync(daemon.Uri);
        return daemon;
    }

    private static async Task WaitUntilAnswersAsync(string uri)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var probe = Connection.Open(uri);
                return;
            }
            catch (LibvirtException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Kills this libvirtd (its guests keep running) and, <paramref name="down"/> later, starts it again where it ran.</summary>
    public async Task RestartAsync(TimeSpan down)
    {
        using (var daemon = Process.GetProcessById(PidOf("libvirtd")))
        {
            daemon.Kill();
            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        await Task.Delay(down);
        using (var start = Process.Start(new ProcessStartInfo("nsenter", [$"--mount=/proc/{PidOf("virtlogd")}/ns/mnt", "libvirtd", "-d", "--listen",
                   "-p", Path.Combine(_folder, "libvirtd.pid"), "-f", Path.Combine(_folder, "libvirtd.conf")]) { RedirectStandardError = true })!)
        {
            var errors = await start.StandardError.ReadToEndAsync();
            await start.WaitForExitAsync();
            Assert.True(start.ExitCode == 0, $"the second libvirtd did not start again: {errors}");
        }
        await WaitUntilAnswersAsync(Uri);
    }

    /// <summary>SIGSTOP / SIGCONT: this libvirtd stops answering (every call to it waits) and later goes on where it was.</summary>
    public void Freeze() => Signal("STOP");

    public void Thaw() => Signal("CONT");

    private void Signal(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", PidOf("libvirtd").ToString()])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The process of this libvirtd's virtlockd, which holds the leases of its guests' disks.</summary>
    public int LockDaemonPid => PidOf("virtlockd");

    private int PidOf(string daemon) => int.Parse(File.ReadAllText(Path.Combine(_folder, $"{daemon}.pid")).Trim());

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var libvirt = Connection.Open(Uri);
            foreach (var domain in libvirt.ListDomains())
            {
                using (domain)
                {
                    if (domain.GetState() == DomainState.Running)
                        domain.Destroy();
                    domain.Undefine();
                }
            }
        }
        catch (LibvirtException)
        {
        }
        foreach (var daemon in new[] { "libvirtd", "virtlockd", "virtlogd" })
        {
            var pidFile = Path.Combine(_folder, $"{daemon}.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (ArgumentException)
                {
                }
            }
        }
    }
}
