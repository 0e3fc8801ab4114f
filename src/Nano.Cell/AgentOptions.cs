namespace Nano.Cell;

/// <summary>Settings of nano-cell (command line: --server, --name, --token, --libvirt-uri, --storage-path, --address).</summary>
public sealed class AgentOptions
{
    /// <summary>
    /// The server's gRPC address, e.g. https://10.0.0.1:5871 (http:// only to a server on this host, or with --insecure);
    /// for a zone of several replicas, their addresses separated by commas: the agent holds its stream to one and moves to
    /// the next when that stream breaks.
    /// </summary>
    public string Server { get; set; } = "http://127.0.0.1:5871";

    /// <summary>The addresses <see cref="Server"/> lists, in order.</summary>
    public IReadOnlyList<string> Servers => Server.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The zone's CA (PEM) the server's certificate must chain to, for an https:// server (--ca-file).</summary>
    public string CaFile { get; set; } = "";

    /// <summary>Dial a plain http:// server on another host (--insecure): only on a network the operator trusts.</summary>
    public bool Insecure { get; set; }

    /// <summary>Cell name; default: the host name.</summary>
    public string Name { get; set; } = "";

    /// <summary>Join token the server expects (or environment Agent__Token; on the command line every local user sees it in ps).</summary>
    public string Token { get; set; } = "";

    /// <summary>A file holding the join token (--token-file); read at start-up when given.</summary>
    public string TokenFile { get; set; } = "";

    public string LibvirtUri { get; set; } = "qemu:///system";

    /// <summary>Default folder for guest volumes.</summary>
    public string StoragePath { get; set; } = "/var/lib/nano/images";

    /// <summary>Folder of the cached image versions guests' overlays use; default: &lt;StoragePath&gt;/.images.</summary>
    public string ImageCache { get; set; } = "";

    /// <summary>
    /// Host bridge guests' NICs join (e.g. a libvirt NAT network's virbr0). Empty: QEMU user-mode networking,
    /// which has no tap device, so guests' firewalls are defined but cannot be bound.
    /// </summary>
    public string Bridge { get; set; } = "";

    /// <summary>Folder under which NFS storage pools are mounted.</summary>
    public string MountRoot { get; set; } = "/var/lib/nano/mounts";

    /// <summary>
    /// The libvirt URI other cells reach this host's libvirtd at, e.g. qemu+tcp://10.0.0.2/system (libvirtd listening):
    /// running guests migrate live from and to this cell only with one. Empty: none.
    /// </summary>
    public string MigrationUri { get; set; } = "";

    /// <summary>IPv4 address the cell announces; default: the first non-loopback IPv4 of the host.</summary>
    public string Address { get; set; } = "";

    /// <summary>Where the agent remembers its default local folder across restarts.</summary>
    public string StateFile { get; set; } = "/var/lib/nano/cell.json";

    /// <summary>
    /// The user libvirt runs guests' QEMU as (qemu.conf's <c>user</c>): it is let through the folders guests' files live in.
    /// Empty or root: QEMU runs as root (not advised: a guest's QEMU could then open any host file).
    /// </summary>
    public string QemuUser { get; set; } = HostFiles.DefaultQemuUser;

    /// <summary>Longest wait between reconnection attempts, in seconds.</summary>
    public int MaxBackoffSeconds { get; set; } = 10;
}
