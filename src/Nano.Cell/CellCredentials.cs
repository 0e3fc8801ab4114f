using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Nano.Contracts.Cell.V1;
using Nano.Tls;

namespace Nano.Cell;

/// <summary>
/// The cell's own certificate, for a server that serves TLS: enrolled once with the join token (the key is made here and
/// never leaves the host), then kept beside the state file under its name (<c>cell.json</c>: <c>cell.pem</c>, and
/// <c>cell.key</c> readable by its owner only) and presented on every call instead of the token.
/// </summary>
public static class CellCredentials
{
    /// <summary>
    /// The certificate to present, enrolling first (with the server at <paramref name="server"/>) when there is none yet;
    /// null when the server is dialled in clear.
    /// </summary>
    public static async Task<X509Certificate2?> EnsureAsync(AgentOptions options, string name, string server, CancellationToken cancellationToken)
    {
        if (!server.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            return null;
        var state = Path.GetFullPath(options.StateFile);
        var (certificatePath, keyPath) = (Path.ChangeExtension(state, ".pem"), Path.ChangeExtension(state, ".key"));
        if (File.Exists(certificatePath) && File.Exists(keyPath))
            return ZoneCertificates.Read(certificatePath, keyPath);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}"), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        using var channel = ServerChannels.Open(options, server);
        var enrolled = await new CellAgentService.CellAgentServiceClient(channel).EnrollAsync(
            new EnrollRequest { Token = options.Token, Name = name, Csr = request },
            deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
        Directory.CreateDirectory(Path.GetDirectoryName(state)!);
        using var certificate = X509Certificate2.CreateFromPem(enrolled.Certificate).CopyWithPrivateKey(key);
        ZoneCertificates.Write(certificate, certificatePath, keyPath);
        return ZoneCertificates.Read(certificatePath, keyPath);
    }
}
