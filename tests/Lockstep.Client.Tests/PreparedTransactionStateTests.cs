namespace Lockstep.Client.Tests;

/// <summary>
/// Goal: the KIP-939 token parses and prints exactly as Java's <c>PreparedTxnState</c> (kip939-spec.md §3.2).
/// Method: table tests over the constructor's rules — Java split semantics (trailing empties dropped), Long/Short
/// parsing with an optional sign and range checks, and the "both ≥ 0" rule.
/// </summary>
public sealed class PreparedTransactionStateTests
{
    [Theory]
    [InlineData("4711:12", 4711L, (short)12)]
    [InlineData("0:0", 0L, (short)0)]
    [InlineData("+5:+3", 5L, (short)3)]
    [InlineData("5:3:", 5L, (short)3)] // Java's split drops trailing empty strings
    [InlineData("5:3::", 5L, (short)3)]
    [InlineData("9223372036854775807:32767", long.MaxValue, short.MaxValue)]
    public void Parse_valid_text_yields_id_and_epoch(string text, long producerId, short epoch)
    {
        var state = PreparedTransactionState.Parse(text);
        Assert.Equal(producerId, state.ProducerId);
        Assert.Equal(epoch, state.Epoch);
        Assert.True(state.HasTransaction);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Parse_null_or_empty_is_the_empty_state(string? text)
    {
        var state = PreparedTransactionState.Parse(text);
        Assert.Equal(-1, state.ProducerId);
        Assert.Equal(-1, state.Epoch);
        Assert.False(state.HasTransaction);
        Assert.Equal(string.Empty, state.ToString());
        Assert.Equal(new PreparedTransactionState(), state);
    }

    [Theory]
    [InlineData("-1:-1")] // the in-memory empty value is not valid text
    [InlineData("5")]
    [InlineData("5:3:1")]
    [InlineData(":5")]
    [InlineData("::")]
    [InlineData("a:1")]
    [InlineData("1:b")]
    [InlineData("1:32768")] // Short.parseShort overflow
    [InlineData("9223372036854775808:1")] // Long.parseLong overflow
    [InlineData(" 1:2")] // Long.parseLong does not trim
    [InlineData("1:-")]
    [InlineData("1.5:2")]
    [InlineData("5:-3")]
    public void Parse_invalid_text_throws_FormatException(string text)
    {
        Assert.Throws<FormatException>(() => PreparedTransactionState.Parse(text));
        Assert.False(PreparedTransactionState.TryParse(text, out var state));
        Assert.Null(state);
    }

    [Fact]
    public void ToString_round_trips_and_equality_compares_both_fields()
    {
        var state = PreparedTransactionState.Parse("1000:5");
        Assert.Equal("1000:5", state.ToString());
        Assert.Equal(state, PreparedTransactionState.Parse(state.ToString()));
        Assert.NotEqual(state, PreparedTransactionState.Parse("1000:6"));
        Assert.NotEqual(state, PreparedTransactionState.Parse("1001:5"));

        // Java: 31 * (31 * 31 + Long.hashCode(1000)) + 5.
        Assert.Equal((31 * ((31 * 31) + 1000)) + 5, state.GetHashCode());
    }
}
