using Lockstep.Cli.Transactions;

namespace Lockstep.DualWrite.Tests.Operator;

/// <summary>
/// Goal: the durations operators type for <c>--older-than</c> / <c>--timeout</c> parse exactly as documented and
/// anything else is rejected (so a typo is an error, not "no filter"); ages print compactly. Method: table-driven.
/// </summary>
public sealed class DurationTextTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("0s", 0L)]
    [InlineData("250ms", 250L)]
    [InlineData("30s", 30_000L)]
    [InlineData("5m", 300_000L)]
    [InlineData("1h", 3_600_000L)]
    [InlineData("1d", 86_400_000L)]
    [InlineData(" 2H ", 7_200_000L)]
    public void TryParse_accepts_a_whole_number_with_a_unit(string text, long expectedMs)
    {
        Assert.True(DurationText.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("5x")]
    [InlineData("-1s")]
    [InlineData("+1s")]
    [InlineData("1.5h")]
    [InlineData("s")]
    [InlineData("1 h")]
    [InlineData("1hm")]
    [InlineData("99999999999999999999d")]
    [InlineData("999999999999d")]
    public void TryParse_rejects_anything_else(string text) => Assert.False(DurationText.TryParse(text, out _));

    [Theory]
    [InlineData(-5L, "0ms")]
    [InlineData(999L, "999ms")]
    [InlineData(42_000L, "42s")]
    [InlineData(303_000L, "5m03s")]
    [InlineData(8_100_000L, "2h15m")]
    [InlineData(273_600_000L, "3d04h")]
    public void Format_shows_the_two_largest_units(long milliseconds, string expected) =>
        Assert.Equal(expected, DurationText.Format(TimeSpan.FromMilliseconds(milliseconds)));
}
