using System.Net;
using System.Security.Cryptography.X509Certificates;
using Nano.Tls;

namespace Nano.Server.Hosting;

/// <summary>
/// The server's TLS certificate, kept in <see cref="NanoOptions.TlsFolder"/>: <c>server.pem</c> and <c>server.key</c>, an
/// operator's own or, when absent, issued there by the zone's CA (<c>ca.pem</c>, <c>ca.key</c>, made too when absent) for
/// this host's loopback addresses, its name and the listening address. Cells trust the server by <c>ca.pem</c>.
/// </summary>
public static class ServerTls
{
    public const string AuthorityFile = "ca.pem";
    private const string AuthorityKeyFile = "ca.key";
    private const string CertificateFile = "server.pem";
    private const string KeyFile = "server.key";
    private const string LockFile = ".lock";
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(30);

    /// <summary>The certificate both listeners serve, or null when no TLS folder is configured.</summary>
    public static X509Certificate2? Load(NanoOptions options, IPAddress listening)
    {
        if (string.IsNullOrEmpty(options.TlsFolder))
            return null;
        var folder = Directory.CreateDirectory(options.TlsFolder).FullName;
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string In(string file) => Path.Combine(folder, file);
        using var makingThem = TakeLock(In(LockFile));
        if (!File.Exists(In(CertificateFile)) || !File.Exists(In(KeyFile)))
        {
            if (!File.Exists(In(AuthorityFile)))
            {
                using var created = ZoneCertificates.CreateAuthority($"Nano zone CA ({Environment.MachineName})");
                ZoneCertificates.Write(created, In(AuthorityFile), In(AuthorityKeyFile));
            }
            using var authority = ZoneCertificates.Read(In(AuthorityFile), In(AuthorityKeyFile));
            IPAddress[] addresses = [IPAddress.Loopback, IPAddress.IPv6Loopback, .. IsSpecific(listening) ? [listening] : Array.Empty<IPAddress>()];
            using var issued = ZoneCertificates.IssueServer(authority, ["localhost", Environment.MachineName], addresses, TimeSpan.FromDays(825));
            ZoneCertificates.Write(issued, In(CertificateFile), In(KeyFile));
        }
        return ZoneCertificates.Read(In(CertificateFile), In(KeyFile));
    }

    /// <summary>The zone's CA with its private key (it signs cells' certificates), or null without a TLS folder.</summary>
    public static X509Certificate2? LoadAuthority(NanoOptions options)
    {
        if (string.IsNullOrEmpty(options.TlsFolder))
            return null;
        var folder = Path.GetFullPath(options.TlsFolder);
        return ZoneCertificates.Read(Path.Combine(folder, AuthorityFile), Path.Combine(folder, AuthorityKeyFile));
    }

    /// <summary>
    /// The folder's lock (an exclusive advisory lock on <paramref name="path"/>, held while the returned stream is open):
    /// servers started at once on one data folder make one CA and one certificate, not one each over the others' files.
    /// </summary>
    private static FileStream TakeLock(string path)
    {
        var deadline = DateTime.UtcNow + LockWait;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20); // another server is making the files: start-up, before anything is served
            }
        }
    }

    private static bool IsSpecific(IPAddress address) => !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any);
}
