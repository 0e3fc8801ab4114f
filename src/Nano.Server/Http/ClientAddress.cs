using System.Net;

namespace Nano.Server.Http;

/// <summary>The client's IP: right-most valid address of X-Forwarded-For, else X-Real-Ip, else the socket peer.</summary>
public static class ClientAddress
{
    public static string Of(HttpContext http)
    {
        foreach (var header in new[] { "X-Forwarded-For", "X-Real-Ip" })
        {
            var candidate = http.Request.Headers[header].ToString()
                .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Reverse()
                .FirstOrDefault(a => IPAddress.TryParse(a, out _));
            if (candidate is not null)
                return candidate;
        }
        var peer = http.Connection.RemoteIpAddress;
        return peer is null ? "" : (peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer).ToString();
    }
}
