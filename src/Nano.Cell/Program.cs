using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nano.Cell;
using Nano.Cell.Host;
using Nano.Cell.Hypervisor;
using Nano.Cell.Storage;

// nano-cell --server https://HOST:5871 --ca-file ca.pem (--token-file FILE | --token TOKEN) [--name NAME] [--libvirt-uri qemu:///system]
//           [--storage-path /var/lib/nano/images] [--image-cache DIR] [--bridge BRIDGE] [--address IPv4] [--migration-uri URI] [--state-file /var/lib/nano/cell.json]
//           [--qemu-user libvirt-qemu] [--log-format json]
//           [--insecure] (a plain http:// server on another host)
args = [.. args.Select(a => a == "--insecure" ? "--insecure=true" : a)];
// Guests' volumes and cloud-init seeds (their passwords) are created readable by their owner only, by the agent and
// the qemu-img it runs alike; cached base images set their own mode.
HostFiles.RestrictNewFiles();
var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--server"] = "Agent:Server",
    ["--ca-file"] = "Agent:CaFile",
    ["--insecure"] = "Agent:Insecure",
    ["--name"] = "Agent:Name",
    ["--token"] = "Agent:Token",
    ["--token-file"] = "Agent:TokenFile",
    ["--libvirt-uri"] = "Agent:LibvirtUri",
    ["--storage-path"] = "Agent:StoragePath",
    ["--image-cache"] = "Agent:ImageCache",
    ["--bridge"] = "Agent:Bridge",
    ["--mount-root"] = "Agent:MountRoot",
    ["--address"] = "Agent:Address",
    ["--migration-uri"] = "Agent:MigrationUri",
    ["--state-file"] = "Agent:StateFile",
    ["--qemu-user"] = "Agent:QemuUser",
    ["--log-format"] = "Logging:Console:FormatterName",
});
// --log-format json: one JSON object per line (UTC timestamps), for a log collector; the default is plain text.
if (string.Equals(builder.Configuration["Logging:Console:FormatterName"], "json", StringComparison.OrdinalIgnoreCase))
    builder.Logging.AddJsonConsole(o => (o.UseUtcTimestamp, o.TimestampFormat) = (true, "yyyy-MM-ddTHH:mm:ss.fffZ"));
builder.Services.AddOptions<AgentOptions>().Bind(builder.Configuration.GetSection("Agent")).PostConfigure(o =>
{
    if (o.TokenFile.Length > 0)
        o.Token = File.ReadAllText(o.TokenFile).Trim();
});
builder.Services.AddSingleton<IHypervisor>(sp => new LibvirtHypervisor(sp.GetRequiredService<IOptions<AgentOptions>>().Value.LibvirtUri));
builder.Services.AddSingleton<IHostProbe>(new ProcHostProbe());
builder.Services.AddSingleton(sp =>
{
    var o = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
    return new CellStorageManager(o.StoragePath, o.MountRoot, o.StateFile, o.QemuUser);
});
builder.Services.AddHostedService<CellAgent>();
var host = builder.Build();
if (ServerChannels.Refusal(host.Services.GetRequiredService<IOptions<AgentOptions>>().Value) is { } refused)
{
    Console.Error.WriteLine($"nano-cell: {refused}");
    return 2;
}
try
{
    host.Services.GetRequiredService<CellStorageManager>(); // its folder, which guests' QEMU must reach
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"nano-cell: {e.Message}");
    return 2;
}
await host.RunAsync();
return 0;
