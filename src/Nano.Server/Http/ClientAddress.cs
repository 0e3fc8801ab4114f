using System.Net;

namespace Nano.Server.Http;

/// <summary>
/// The client's IP: the socket peer; when the peer is one of the proxies the operator trusts
/// (<c>Nano:TrustedProxies</c>), the right-most valid address of X-Forwarded-For, else X-Real-Ip, it sent. Anyone
/// else's forwarding headers are ignored: a client cannot choose the address its login failures are logged under.
/// </summary>
public static class ClientAddress
{
    public static string Of(HttpContext http, IReadOnlyCollection<string> trustedProxies)
    {
        var peer = PeerOf(http);
        if (!trustedProxies.Contains(peer))
            return peer;
        foreach (var header in new[] { "X-Forwarded-For", "X-Real-Ip" })
        {
            var candidate = http.Request.Headers[header].ToString()
                .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Reverse()
                .FirstOrDefault(a => IPAddress.TryParse(a, out _));
            if (candidate is not null)
                return candidate;
        }
        return peer;
    }

    private static string PeerOf(HttpContext http)
    {
        var peer = http.Connection.RemoteIpAddress;
        return peer is null ? "" : (peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer).ToString();
    }
}
