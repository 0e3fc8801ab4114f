using Grpc.Net.Client;
using Nano.Tls;

namespace Nano.Cell;

/// <summary>
/// The agent's channel to the server. Over https the server must show a certificate for the host dialled that chains to
/// the zone's CA (<c>--ca-file</c>; without it, the machine's trusted roots); plain http is dialled only to a server on
/// this host, unless <c>--insecure</c>: the join token, cloud-init secrets and console passwords cross that channel.
/// </summary>
public static class ServerChannels
{
    /// <summary>Why the agent must not dial the configured server; null when it may.</summary>
    public static string? Refusal(AgentOptions options)
    {
        if (options.Servers.Count == 0)
            return "--server must name the server's gRPC URL (or several replicas', separated by commas)";
        if (options.CaFile.Length > 0 && !File.Exists(options.CaFile))
            return $"--ca-file {options.CaFile} does not exist";
        foreach (var address in options.Servers)
        {
            if (!Uri.TryCreate(address, UriKind.Absolute, out var server) || server.Scheme is not ("http" or "https"))
                return $"--server must be an http:// or https:// URL, not '{address}'";
            if (server.Scheme == "http" && !server.IsLoopback && !options.Insecure)
                return $"refusing to dial {address} in clear: the join token and guests' secrets would cross the network unprotected. " +
                       "Use https:// with --ca-file (the zone CA, ca.pem in the server's TLS folder), or --insecure on a network you trust";
        }
        return null;
    }

    /// <summary>A channel to the server at <paramref name="address"/>, presenting <paramref name="certificate"/> (the cell's own) when given.</summary>
    public static GrpcChannel Open(AgentOptions options, string address, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var handler = new SocketsHttpHandler
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            InitialHttp2StreamWindowSize = 8 << 20, // image fetches stream megabytes
        };
        if (options.CaFile.Length > 0)
            handler.SslOptions.RemoteCertificateValidationCallback = ZoneCertificates.ServerCheck(options.CaFile);
        if (certificate is not null)
            handler.SslOptions.ClientCertificates = [certificate];
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = 8 << 20 });
    }
}
