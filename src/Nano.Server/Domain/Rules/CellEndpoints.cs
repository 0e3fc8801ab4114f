namespace Nano.Server.Domain.Rules;

/// <summary>
/// Where a cell says its guests' consoles and its libvirtd can be reached is believed only on the cell's own registered
/// address: otherwise a hostile cell could point the server's console relay, or another cell's libvirtd pulling a live
/// migration, at any host the zone can reach (request forgery).
/// </summary>
public static class CellEndpoints
{
    private static readonly string[] MigrationSchemes = ["qemu", "qemu+tcp", "qemu+tls", "qemu+ssh", "qemu+unix"];

    /// <summary>Why a console address (host:port) a cell reported is not to be connected to; null when it is on the cell.</summary>
    public static string? DisplayRefusal(string display, string cellAddress)
    {
        var separator = display.LastIndexOf(':');
        if (separator <= 0 || !int.TryParse(display[(separator + 1)..], System.Globalization.NumberStyles.None, null, out var port) || port is < 1 or > 65535)
            return $"'{display}' is no host:port";
        return SameHost(display[..separator], cellAddress) ? null : $"'{display}' is not on the cell's address {cellAddress}";
    }

    /// <summary>
    /// Why a migration URI a cell announced is not to be handed to another cell; null when it is a libvirt URI naming the
    /// cell's own address, or no host at all (a local socket: cells sharing one host, a lab set-up).
    /// </summary>
    public static string? MigrationUriRefusal(string uri, string cellAddress)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || !MigrationSchemes.Contains(parsed.Scheme, StringComparer.OrdinalIgnoreCase))
            return $"'{uri}' is no libvirt URI ({string.Join(", ", MigrationSchemes)})";
        if (parsed.UserInfo.Length > 0 || (parsed.Host.Length > 0 && !SameHost(parsed.Host, cellAddress)))
            return $"'{uri}' does not name the cell's address {cellAddress}";
        return null;
    }

    private static bool SameHost(string host, string cellAddress) =>
        string.Equals(host.Trim('[', ']'), cellAddress.Trim('[', ']'), StringComparison.OrdinalIgnoreCase);
}
