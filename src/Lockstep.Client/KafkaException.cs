using System;
using Lockstep.Protocol;

namespace Lockstep.Client;

/// <summary>
/// Base of every error the client raises for a Kafka-level failure. The subtype says what the application should do
/// next: <see cref="KafkaRetriableException"/> (try again), <see cref="TransactionAbortableException"/> (abort the
/// transaction and carry on with the same producer) or <see cref="KafkaFatalException"/> (dispose the producer).
/// Usage errors (calling an operation in the wrong state) are <see cref="InvalidOperationException"/> instead.
/// </summary>
public class KafkaException : Exception
{
    /// <summary>Creates an error for <paramref name="errorCode"/> with a message that should say what failed.</summary>
    /// <param name="errorCode">The Kafka error code (or <see cref="ErrorCode.UnknownServerError"/> when the failure
    /// has no code, e.g. a client-side timeout).</param>
    /// <param name="message">What failed and, where known, what to do.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public KafkaException(ErrorCode errorCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
    }

    /// <summary>The Kafka error code, e.g. <see cref="ErrorCode.ProducerFenced"/>; its Kafka name is in
    /// <see cref="ErrorName"/>.</summary>
    public ErrorCode ErrorCode { get; }

    /// <summary>The error's Kafka name (<c>PRODUCER_FENCED</c>), for logs and searches in Kafka's docs.</summary>
    public string ErrorName => ErrorCode.KafkaName();

    /// <summary>
    /// Maps a Kafka error code returned by a broker to the exception subtype that tells the caller what to do.
    /// Transaction code uses its own mapping where the Kafka client does (TransactionManager.java).
    /// </summary>
    internal static KafkaException FromErrorCode(ErrorCode errorCode, string context)
    {
        var message = $"{context}: {errorCode.KafkaName()} ({(short)errorCode}).";
        return errorCode switch
        {
            ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch => new ProducerFencedException(errorCode, message),
            ErrorCode.TransactionAbortable => new TransactionAbortableException(errorCode, message),
            _ when errorCode.IsRetriable() => new KafkaRetriableException(errorCode, message),
            _ => new KafkaException(errorCode, message),
        };
    }
}
