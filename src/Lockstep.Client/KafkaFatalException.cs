using System;
using Lockstep.Protocol;

namespace Lockstep.Client;

/// <summary>
/// The producer can no longer be used (Kafka's FATAL_ERROR state): every later operation fails with this error.
/// Dispose the producer; create a new one to continue.
/// </summary>
public class KafkaFatalException : KafkaException
{
    /// <summary>Creates a fatal error.</summary>
    /// <param name="errorCode">The Kafka error code that was fatal.</param>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public KafkaFatalException(ErrorCode errorCode, string message, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
    }
}
