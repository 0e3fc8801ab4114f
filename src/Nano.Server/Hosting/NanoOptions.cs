namespace Nano.Server.Hosting;

/// <summary>Settings of nano-server, bound from the "Nano" configuration section.</summary>
public sealed class NanoOptions
{
    public const string Section = "Nano";

    /// <summary>Address both listeners bind to.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>REST (HTTP/1.1, JSON transcoding) port.</summary>
    public int RestPort { get; set; } = 5870;

    /// <summary>gRPC (HTTP/2 cleartext) port, with reflection and health.</summary>
    public int GrpcPort { get; set; } = 5871;

    /// <summary>Folder for the embedded PostgreSQL cluster and other local state.</summary>
    public string DataDir { get; set; } = ".nano";

    /// <summary>Folder of the image store; default: &lt;DataDir&gt;/images.</summary>
    public string ImageStore { get; set; } = "";

    /// <summary>The largest image a user may upload, in bytes (64 GiB by default).</summary>
    public long MaxUploadBytes { get; set; } = 64L << 30;

    /// <summary>Bytes an upload (or a cell's push) must leave free on the image store's file system (1 GiB by default).</summary>
    public long UploadReserveBytes { get; set; } = 1L << 30;

    /// <summary>An upload or push that sends nothing for this many seconds is cut off, and its image freed.</summary>
    public int UploadIdleSeconds { get; set; } = 60;

    /// <summary>How many guests of one batch task are worked on at the same time.</summary>
    public int BatchConcurrency { get; set; } = 4;

    /// <summary>Seconds a long cell command (image fetch, export) may go without progress before it is abandoned.</summary>
    public int CellProgressTimeoutSeconds { get; set; } = 60;

    /// <summary>PostgreSQL connection string; empty starts the embedded cluster under <see cref="DataDir"/>.</summary>
    public string Database { get; set; } = "";

    /// <summary>
    /// Whether the embedded cluster syncs its writes to disk (fsync). Only tests and benchmarks turn it off: without it a
    /// power cut can corrupt the zone's whole state.
    /// </summary>
    public bool DatabaseFsync { get; set; } = true;

    /// <summary>Seconds a session lives after login or its last keep-alive.</summary>
    public int SessionTimeoutSeconds { get; set; } = 180;

    /// <summary>How often an open server stream (a watcher, a download) checks that its session is still live; it ends UNAUTHENTICATED when not.</summary>
    public int StreamSessionCheckSeconds { get; set; } = 5;

    /// <summary>
    /// Addresses of the reverse proxies whose X-Forwarded-For / X-Real-Ip headers name the client (comma-separated);
    /// empty: the socket peer is the client, whatever headers it sends.
    /// </summary>
    public string TrustedProxies { get; set; } = "";

    /// <summary><see cref="TrustedProxies"/> as a list.</summary>
    public IReadOnlyCollection<string> TrustedProxyList =>
        TrustedProxies.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Failed logins from one client address within <see cref="LoginLockSeconds"/> after which its logins are refused.</summary>
    public int LoginFailuresPerAddress { get; set; } = 5;

    /// <summary>Failed logins for one user name, from any address, within <see cref="LoginLockSeconds"/> after which its logins are refused.</summary>
    public int LoginFailuresPerUser { get; set; } = 10;

    /// <summary>The window, in seconds, over which failed logins are counted; a lock lasts until it ends.</summary>
    public int LoginLockSeconds { get; set; } = 60;

    /// <summary>
    /// Folder of the server's TLS certificate and the zone's CA (<see cref="ServerTls"/>): both listeners serve TLS when set.
    /// Empty: plain HTTP, allowed on a loopback address only unless <see cref="Insecure"/>.
    /// </summary>
    public string TlsFolder { get; set; } = "";

    /// <summary>Listen on a non-loopback address without TLS (a lab network the operator trusts).</summary>
    public bool Insecure { get; set; }

    /// <summary>When true, REST failures use their error_code as the HTTP status too (default: 200, as upstream).</summary>
    public bool RestErrorsAsHttpStatus { get; set; }

    /// <summary>Join token cell agents must present; empty refuses every agent.</summary>
    public string CellToken { get; set; } = "";

    /// <summary>
    /// The bearer token a Prometheus scrape of GET /metrics presents (Authorization: Bearer …); empty: only a session
    /// whose roles carry the dashboard menu may read /metrics. tools/nano up keeps one in &lt;data dir&gt;/metrics-token.
    /// </summary>
    public string MetricsToken { get; set; } = "";

    /// <summary>
    /// The address other replicas of the zone reach this one at (its gRPC port: commands for the cells whose streams it
    /// holds); empty: <see cref="Address"/>, or the host name when that is a wildcard.
    /// </summary>
    public string AdvertiseAddress { get; set; } = "";

    /// <summary>
    /// A replica not heard from for this many seconds is dead: the leader takes over what it left unfinished, and its
    /// leadership moves to another replica. Replicas refresh their registry row four times per window.
    /// </summary>
    public int ReplicaLivenessSeconds { get; set; } = 6;

    /// <summary>How often agents send heartbeats, in milliseconds.</summary>
    public int CellHeartbeatIntervalMs { get; set; } = 2000;

    /// <summary>How often agents send metrics, in milliseconds.</summary>
    public int CellMetricsIntervalMs { get; set; } = 5000;

    /// <summary>A cell not heard from for this many seconds is offline.</summary>
    public int CellLivenessSeconds { get; set; } = 10;

    /// <summary>
    /// Seconds a cell of a failover pool must stay lost before its guests move to the other cells. The server also waits
    /// this long after it starts, so cells it has not heard from yet get the chance to reconnect.
    /// </summary>
    public int FailoverGraceSeconds { get; set; } = 30;

    /// <summary>
    /// After a restart, how long the server waits for the cell of a guest whose creation, reset or move was cut off to
    /// come back and say what it has (GuestRecovery), in seconds; after that a creation is undone without the cell.
    /// </summary>
    public int RecoveryWaitSeconds { get; set; } = 300;

    /// <summary>How long the server waits for a cell to answer a command, in seconds.</summary>
    public int CellCommandTimeoutSeconds { get; set; } = 10;

    /// <summary>A monitor channel must be opened within this many seconds.</summary>
    public int MonitorChannelSeconds { get; set; } = 15;

    /// <summary>The most cores a guest may have: the portal's slider limit (GET /system/), enforced (Domain/GuestLimits).</summary>
    public int MaxCores { get; set; } = 24;

    /// <summary>The most memory a guest may have, in GiB (the portal's slider limit), enforced.</summary>
    public int MaxMemoryGb { get; set; } = 32;

    /// <summary>The largest disk a guest may have, in GiB (the portal's slider limit), enforced per disk.</summary>
    public int MaxDiskGb { get; set; } = 64;
}
