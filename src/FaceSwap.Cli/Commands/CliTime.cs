using System.Globalization;

namespace FaceSwap.Cli.Commands;

/// <summary>The CLI's time options: a date/time, or a duration such as 90d, 12h or 30m.</summary>
public static class CliTime
{
    /// <summary>"&lt;number&gt;d|h|m" as a span (negative when the number is); false for anything else.</summary>
    public static bool TryDuration(string text, out TimeSpan span)
    {
        span = default;
        if (text.Length < 2 || text[^1] is not ('d' or 'h' or 'm')
            || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)) return false;
        span = text[^1] switch { 'd' => TimeSpan.FromDays(amount), 'h' => TimeSpan.FromHours(amount), _ => TimeSpan.FromMinutes(amount) };
        return true;
    }

    /// <summary>A date/time, assumed UTC when it names no zone.</summary>
    public static bool TryDate(string text, out DateTimeOffset at) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at);
}
