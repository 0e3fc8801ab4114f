using System.Text;
using System.Text.Json;
using Nano.Contracts.Cell.V1;

namespace Nano.Cell.Instances;

/// <summary>
/// The files of a NoCloud seed (meta-data, user-data, network-config). Every value is written as a
/// JSON string, which YAML reads as a plain string, so nothing a user sends can change the structure.
/// </summary>
public static class CloudInitSeedWriter
{
    public static void Write(string folder, string guestId, CloudInitSeed seed)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "meta-data"), $"instance-id: {Q(guestId)}\nlocal-hostname: {Q(seed.Hostname)}\n");
        var user = new StringBuilder("#cloud-config\n")
            .Append("hostname: ").Append(Q(seed.Hostname)).Append('\n')
            .Append("ssh_pwauth: true\n")
            .Append("disable_root: ").Append(seed.RootEnabled ? "false" : "true").Append('\n')
            .Append("chpasswd:\n  expire: false\n")
            .Append("users:\n")
            .Append("  - name: ").Append(Q(seed.AdminName)).Append('\n')
            .Append("    lock_passwd: false\n")
            .Append("    plain_text_passwd: ").Append(Q(seed.AdminSecret)).Append('\n')
            .Append("    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n")
            .Append("    shell: /bin/bash\n");
        if (seed.DataPath.Length > 0)
            user.Append("bootcmd:\n  - [mkdir, -p, ").Append(Q(seed.DataPath)).Append("]\n");
        File.WriteAllText(Path.Combine(folder, "user-data"), user.ToString());
        if (seed.Address.Length > 0)
        {
            var network = new StringBuilder("version: 2\nethernets:\n  primary:\n    match:\n      name: \"e*\"\n")
                .Append("    addresses: [").Append(Q(seed.Address)).Append("]\n");
            if (seed.Gateway.Length > 0)
                network.Append("    gateway4: ").Append(Q(seed.Gateway)).Append('\n');
            if (seed.Dns.Count > 0)
                network.Append("    nameservers:\n      addresses: [").Append(string.Join(", ", seed.Dns.Select(Q))).Append("]\n");
            File.WriteAllText(Path.Combine(folder, "network-config"), network.ToString());
        }
    }

    private static string Q(string value) => JsonSerializer.Serialize(value);
}
