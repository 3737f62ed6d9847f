using System;

namespace Lockstep.Protocol;

/// <summary>
/// The single exception type raised for malformed, truncated or hostile Kafka wire data, and for attempts to
/// encode a message that the requested version cannot carry. A network session that catches it answers with an
/// error or closes only the offending connection (style-guide.md §3.3).
/// </summary>
public sealed class KafkaProtocolException : Exception
{
    /// <summary>Creates an exception with a message that says what was wrong and where.</summary>
    public KafkaProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception that wraps a lower-level failure (for example a decompression error).</summary>
    public KafkaProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception with a generic message; prefer the overloads that explain the failure.</summary>
    public KafkaProtocolException()
        : base("Malformed Kafka protocol data.")
    {
    }
}
