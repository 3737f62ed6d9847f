using System;
using System.Globalization;

namespace Lockstep.Client;

/// <summary>
/// The token of a prepared KIP-939 transaction: the producer id and epoch the transaction's data was written with.
/// Store <see cref="ToString"/> atomically with the external commit decision; on recovery pass the stored token to
/// <see cref="KafkaProducer.CompleteTransactionAsync"/>, which commits iff it equals the producer's prepared
/// transaction. Mirrors Java's <c>org.apache.kafka.clients.producer.PreparedTxnState</c> (kip939-spec.md §3.2).
/// </summary>
/// <remarks>
/// Text form: <c>"&lt;producerId&gt;:&lt;epoch&gt;"</c> in decimal, e.g. <c>"4711:12"</c>; the empty state
/// (-1, -1) prints as <c>""</c>. Equality compares both numbers.
/// </remarks>
public sealed class PreparedTransactionState : IEquatable<PreparedTransactionState>
{
    private const long NoProducerId = -1;
    private const short NoProducerEpoch = -1;

    /// <summary>The empty state: no transaction (-1, -1).</summary>
    public PreparedTransactionState()
        : this(NoProducerId, NoProducerEpoch)
    {
    }

    /// <summary>Internal: the producer builds tokens from the ids it holds (Java's package-private constructor).</summary>
    internal PreparedTransactionState(long producerId, short epoch)
    {
        ProducerId = producerId;
        Epoch = epoch;
    }

    /// <summary>The producer id of the prepared transaction, or -1 for the empty state.</summary>
    public long ProducerId { get; }

    /// <summary>The producer epoch of the prepared transaction, or -1 for the empty state.</summary>
    public short Epoch { get; }

    /// <summary>True unless this is the empty state (Java's <c>hasTransaction()</c>: producer id ≠ -1).</summary>
    public bool HasTransaction => ProducerId != NoProducerId;

    /// <summary>
    /// Parses the text form exactly as Java's <c>PreparedTxnState(String)</c> does: null or <c>""</c> is the empty
    /// state; otherwise the text is split on <c>':'</c> with Java's <c>String.split</c> semantics (trailing empty
    /// parts are dropped, so <c>"5:3:"</c> is accepted as <c>5:3</c>), exactly two parts must remain, they are parsed
    /// as a signed 64-bit and a signed 16-bit decimal (an optional leading <c>+</c>/<c>-</c>, like
    /// <c>Long.parseLong</c>), and both must be ≥ 0 — so <c>"-1:-1"</c> is rejected even though it is the in-memory
    /// empty value. Java also accepts non-ASCII Unicode digits; this parser accepts ASCII digits only.
    /// </summary>
    /// <param name="text">The stored token.</param>
    /// <returns>The state.</returns>
    /// <exception cref="FormatException">The text is not a valid token (Java: IllegalArgumentException).</exception>
    public static PreparedTransactionState Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return new PreparedTransactionState();
        }

        // Java's split(":") keeps leading and inner empty strings but drops trailing ones.
        var parts = text.Split(':');
        var count = parts.Length;
        while (count > 0 && parts[count - 1].Length == 0)
        {
            count--;
        }

        if (count != 2)
        {
            throw new FormatException($"Invalid serialized transaction state format: {text}");
        }

        if (!TryParseJavaInteger(parts[0], long.MinValue, long.MaxValue, out var producerId)
            || !TryParseJavaInteger(parts[1], short.MinValue, short.MaxValue, out var epoch))
        {
            throw new FormatException($"Invalid serialized transaction state format: {text}");
        }

        if (producerId < 0 || epoch < 0)
        {
            throw new FormatException(
                $"Invalid producer ID and epoch values: {producerId}:{epoch}. Both must be >= 0");
        }

        return new PreparedTransactionState(producerId, (short)epoch);
    }

    /// <summary>Like <see cref="Parse"/> but returns false instead of throwing.</summary>
    /// <param name="text">The stored token.</param>
    /// <param name="state">The parsed state, or null.</param>
    /// <returns>True when <paramref name="text"/> is valid.</returns>
    public static bool TryParse(string? text, out PreparedTransactionState? state)
    {
        try
        {
            state = Parse(text);
            return true;
        }
        catch (FormatException)
        {
            state = null;
            return false;
        }
    }

    // Long.parseLong / Short.parseShort: optional single sign, then at least one decimal digit, range-checked.
    private static bool TryParseJavaInteger(string s, long min, long max, out long value)
    {
        value = 0;
        if (s.Length == 0)
        {
            return false;
        }

        var start = s[0] is '+' or '-' ? 1 : 0;
        if (start == s.Length)
        {
            return false;
        }

        for (var i = start; i < s.Length; i++)
        {
            if (s[i] is < '0' or > '9')
            {
                return false;
            }
        }

        if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            return false;
        }

        return value >= min && value <= max;
    }

    /// <summary>The text form <c>"producerId:epoch"</c>, or <c>""</c> for the empty state.</summary>
    public override string ToString() =>
        HasTransaction ? string.Create(CultureInfo.InvariantCulture, $"{ProducerId}:{Epoch}") : string.Empty;

    /// <inheritdoc />
    public bool Equals(PreparedTransactionState? other) =>
        other is not null && other.ProducerId == ProducerId && other.Epoch == Epoch;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PreparedTransactionState);

    /// <summary>Java's hash: <c>31 * (31 * 31 + Long.hashCode(pid)) + epoch</c>, kept for parity.</summary>
    public override int GetHashCode() => unchecked((31 * ((31 * 31) + (int)(ProducerId ^ (ProducerId >>> 32)))) + Epoch);
}
