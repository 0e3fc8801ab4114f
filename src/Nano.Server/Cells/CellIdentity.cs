using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Nano.Server.Data;
using Nano.Server.Domain.Rules;
using Nano.Server.Hosting;
using Nano.Tls;

namespace Nano.Server.Cells;

/// <summary>
/// Who a caller of the agents' service is. Over TLS each cell has its own certificate, signed by the zone's CA when it
/// enrolled (once per name, with the join token); it presents it on every call, the server checks that it chains to
/// the zone's CA and is the one on record for its name, and a stream may be opened only under that name. Without TLS
/// (a loopback or trusted network) the join token alone admits a caller, as before.
/// </summary>
public sealed class CellIdentity(IOptions<NanoOptions> options, CellRepository cells)
{
    private readonly Lazy<X509Certificate2?> _authority = new(() => ServerTls.LoadAuthority(options.Value));

    /// <summary>Whether cells authenticate with certificates (the server serves TLS).</summary>
    public bool CertificatesRequired => !string.IsNullOrEmpty(options.Value.TlsFolder);

    /// <summary>
    /// Issues cell <paramref name="name"/>'s certificate for its signing request: once per name, or again while that cell
    /// is offline and in no compute pool (the operator's consent to a reinstalled host).
    /// </summary>
    public async Task<string> EnrollAsync(string name, string requestPem)
    {
        var authority = _authority.Value ?? throw Fail.Precondition("cells enroll only with a server that serves TLS");
        X509Certificate2 issued;
        try
        {
            issued = ZoneCertificates.SignClient(authority, requestPem, name, TimeSpan.FromDays(825));
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw Fail.Invalid($"the certificate request is not valid: {e.Message}");
        }
        using (issued)
        {
            if (!await cells.EnrollAsync(name, issued.SerialNumber))
                throw Fail.Exists($"cell '{name}' is enrolled already (its certificate is beside its state file); to enroll a reinstalled host " +
                                  "again, stop its agent and take the cell out of its compute pool first");
            return issued.ExportCertificatePem();
        }
    }

    /// <summary>
    /// The name of the cell whose certificate the call presents, checked against the zone's CA and the serial on record;
    /// refuses (UNAUTHENTICATED) a call without a valid one.
    /// </summary>
    public async Task<string> RequireCellAsync(ServerCallContext context)
    {
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        if (certificate is null || _authority.Value is not { } authority || !ZoneCertificates.ChainsTo(certificate, authority))
            throw Fail.Unauthenticated("a cell presents the certificate it was issued when it enrolled");
        var name = ZoneCertificates.NameOf(certificate);
        if (await cells.CredentialSerialAsync(name) != certificate.SerialNumber)
            throw Fail.Unauthenticated($"the certificate of cell '{name}' is not the one on record");
        return name;
    }
}
