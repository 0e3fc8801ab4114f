using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Nano.Tls;

/// <summary>
/// The zone's own certificate authority and the certificates it issues (ECDSA P-256, SHA-256), as PEM files; and the
/// check a peer's certificate must pass: it chains to the zone's CA, and nothing else.
/// </summary>
public static class ZoneCertificates
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    /// <summary>A new self-signed CA, good for 10 years, that signs the zone's server and cell certificates.</summary>
    public static X509Certificate2 CreateAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
    }

    /// <summary>
    /// A server certificate with a new key, signed by <paramref name="authority"/> (which must hold its private key), for
    /// the given host names and addresses; good for <paramref name="validity"/>.
    /// </summary>
    public static X509Certificate2 IssueServer(X509Certificate2 authority, IEnumerable<string> dnsNames, IEnumerable<IPAddress> addresses, TimeSpan validity)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=nano-server"), key, HashAlgorithmName.SHA256);
        var alternative = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames.Distinct(StringComparer.OrdinalIgnoreCase))
            alternative.AddDnsName(dns);
        foreach (var address in addresses.Distinct())
            alternative.AddIpAddress(address);
        request.CertificateExtensions.Add(alternative.Build());
        using var signed = Sign(authority, request, ServerAuth, validity);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Signs a PKCS#10 request (PEM) as a client certificate for <paramref name="name"/>, whatever subject the request
    /// names: the authority decides who the certificate is for.
    /// </summary>
    public static X509Certificate2 SignClient(X509Certificate2 authority, string requestPem, string name, TimeSpan validity)
    {
        var asked = CertificateRequest.LoadSigningRequestPem(requestPem, HashAlgorithmName.SHA256,
            CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        return Sign(authority, new CertificateRequest(new X500DistinguishedName($"CN={name}"), asked.PublicKey, HashAlgorithmName.SHA256), ClientAuth, validity);
    }

    /// <summary>Signs an end-entity certificate for <paramref name="usage"/>, valid no longer than the authority.</summary>
    private static X509Certificate2 Sign(X509Certificate2 authority, CertificateRequest request, Oid usage, TimeSpan validity)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
        var now = DateTimeOffset.UtcNow;
        var notAfter = now + validity < authority.NotAfter ? now + validity : new DateTimeOffset(authority.NotAfter.ToUniversalTime());
        return request.Create(authority, now.AddMinutes(-5), notAfter, RandomNumberGenerator.GetBytes(16));
    }

    /// <summary>The name a certificate was issued to (its subject's common name).</summary>
    public static string NameOf(X509Certificate2 certificate) => certificate.GetNameInfo(X509NameType.SimpleName, false);

    /// <summary>
    /// Writes the certificate and its private key as PEM; the key file is readable by its owner only. Each file is written
    /// beside its place and renamed there, the key first: a reader (or a start after a crash) finds either no certificate
    /// or a whole certificate whose key is already in place.
    /// </summary>
    public static void Write(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the certificate has no ECDSA private key");
        Replace(keyPath, key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Replace(certificatePath, certificate.ExportCertificatePem(),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    /// <summary>Puts <paramref name="text"/> in <paramref name="path"/> at once (a new file, made with <paramref name="mode"/>, renamed over it).</summary>
    private static void Replace(string path, string text, UnixFileMode mode)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.partial";
        try
        {
            var creation = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                creation.UnixCreateMode = mode; // the key is never readable by others, not even for a moment
            using (var file = new FileStream(temporary, creation))
            {
                file.Write(System.Text.Encoding.ASCII.GetBytes(text));
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary); // only when the rename did not happen
        }
    }

    /// <summary>Reads a certificate with its private key from PEM files.</summary>
    public static X509Certificate2 Read(string certificatePath, string keyPath) => X509Certificate2.CreateFromPemFile(certificatePath, keyPath);

    /// <summary>Whether <paramref name="certificate"/> chains to <paramref name="authority"/>, trusting no other root.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 authority)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>
    /// The check a client makes of the server it dialled: the certificate names the host dialled and chains to the zone's
    /// CA (<paramref name="authorityPath"/>, PEM), whatever the machine's own trusted roots say.
    /// </summary>
    public static RemoteCertificateValidationCallback ServerCheck(string authorityPath)
    {
        var authority = X509Certificate2.CreateFromPem(File.ReadAllText(authorityPath));
        return (_, certificate, _, errors) =>
            certificate is not null && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None &&
            ChainsTo(certificate as X509Certificate2 ?? new X509Certificate2(certificate), authority);
    }
}
