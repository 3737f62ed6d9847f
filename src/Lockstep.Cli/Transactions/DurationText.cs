using System;
using System.Globalization;
using System.Text;

namespace Lockstep.Cli.Transactions;

/// <summary>
/// The short durations operators type and read: <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>, <c>250ms</c> (the units
/// of kafka-transactions.sh's <c>--max-transaction-timeout</c> are minutes only; a suffix is clearer).
/// </summary>
internal static class DurationText
{
    /// <summary>For help and error texts.</summary>
    public const string Help = "a whole number followed by ms, s, m, h or d, e.g. 30s, 5m, 1h, 1d";

    /// <summary>Parses <paramref name="text"/>; "0" alone is accepted as zero.</summary>
    /// <param name="text">The option value.</param>
    /// <param name="duration">The duration when valid.</param>
    /// <returns>False for anything else (no unit, a fraction, a sign, an unknown unit, an overflow).</returns>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        if (text == "0")
        {
            return true;
        }

        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits]))
        {
            digits++;
        }

        if (digits == 0 || !long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return false;
        }

        var unit = text[digits..].ToLowerInvariant();
        var milliseconds = unit switch
        {
            "ms" => 1L,
            "s" => 1_000L,
            "m" => 60_000L,
            "h" => 3_600_000L,
            "d" => 86_400_000L,
            _ => 0L,
        };
        if (milliseconds == 0 || count > TimeSpan.MaxValue.TotalMilliseconds / milliseconds)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(count * milliseconds);
        return true;
    }

    /// <summary>Formats an age for the table: the two largest units, e.g. <c>42s</c>, <c>5m03s</c>, <c>2h15m</c>,
    /// <c>3d04h</c>.</summary>
    /// <param name="age">The age (negative counts as zero: the broker's clock may run slightly ahead).</param>
    /// <returns>The text.</returns>
    public static string Format(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
        {
            age = TimeSpan.Zero;
        }

        var builder = new StringBuilder();
        if (age.TotalDays >= 1)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{(long)age.TotalDays}d{age.Hours:00}h");
        }
        else if (age.TotalHours >= 1)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{age.Hours}h{age.Minutes:00}m");
        }
        else if (age.TotalMinutes >= 1)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{age.Minutes}m{age.Seconds:00}s");
        }
        else if (age.TotalSeconds >= 1)
        {
            builder.Append(CultureInfo.InvariantCulture, $"{age.Seconds}s");
        }
        else
        {
            builder.Append(CultureInfo.InvariantCulture, $"{age.Milliseconds}ms");
        }

        return builder.ToString();
    }
}
