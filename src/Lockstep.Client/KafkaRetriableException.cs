using System;
using Lockstep.Protocol;

namespace Lockstep.Client;

/// <summary>
/// A transient failure (a leader moved, a connection dropped, a request timed out): the same call may succeed if
/// repeated. The client has already retried internally until <c>delivery.timeout.ms</c> or
/// <c>max.block.ms</c> ran out before surfacing it.
/// </summary>
public class KafkaRetriableException : KafkaException
{
    /// <summary>Creates a retriable error.</summary>
    /// <param name="errorCode">The Kafka error code (retriable in Kafka's table, or <see cref="ErrorCode.NetworkException"/>
    /// / <see cref="ErrorCode.RequestTimedOut"/> for client-side failures).</param>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public KafkaRetriableException(ErrorCode errorCode, string message, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
    }
}
