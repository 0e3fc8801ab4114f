using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Nano.Server.Domain.Rules;

/// <summary>IPv4 addresses as numbers (0 .. 2^32-1), the way ranges are stored and scanned.</summary>
public static class Ipv4
{
    public static bool TryParse(string? text, out long value)
    {
        value = 0;
        if (string.IsNullOrEmpty(text) || text.Count(c => c == '.') != 3 ||
            !IPAddress.TryParse(text, out var address) || address.AddressFamily != AddressFamily.InterNetwork)
            return false;
        var bytes = address.GetAddressBytes();
        value = ((long)bytes[0] << 24) | ((long)bytes[1] << 16) | ((long)bytes[2] << 8) | bytes[3];
        return true;
    }

    public static long Parse(string field, string? text) =>
        TryParse(text, out var value) ? value : throw Fail.Invalid($"{field} '{text}' is not an IPv4 address");

    public static string Format(long value) => string.Create(CultureInfo.InvariantCulture,
        $"{(value >> 24) & 255}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}");

    /// <summary>The prefix length of a dotted netmask such as 255.255.255.0; the mask must be contiguous ones.</summary>
    public static int PrefixLength(string field, string? netmask)
    {
        var mask = Parse(field, netmask);
        var inverted = ~mask & 0xFFFFFFFFL;
        if ((inverted & (inverted + 1)) != 0)
            throw Fail.Invalid($"{field} '{netmask}' is not a contiguous netmask");
        return 32 - (int)Math.Log2(inverted + 1);
    }

    /// <summary>The network part of an address under a prefix length.</summary>
    public static long Network(long address, int prefixLength) =>
        prefixLength == 0 ? 0 : address & (0xFFFFFFFFL << (32 - prefixLength)) & 0xFFFFFFFFL;
}
