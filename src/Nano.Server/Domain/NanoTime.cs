using System.Globalization;

namespace Nano.Server.Domain;

/// <summary>The API's time format: YYYY-MM-DD HH:MM:SS in server local time.</summary>
public static class NanoTime
{
    public const string Format = "yyyy-MM-dd HH:mm:ss";

    public static string Print(DateTime time) =>
        (time.Kind == DateTimeKind.Utc ? time.ToLocalTime() : time).ToString(Format, CultureInfo.InvariantCulture);

    public static bool TryParse(string text, out DateTime time) =>
        DateTime.TryParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out time);
}
