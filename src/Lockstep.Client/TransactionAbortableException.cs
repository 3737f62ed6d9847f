using System;
using Lockstep.Protocol;

namespace Lockstep.Client;

/// <summary>
/// The current transaction cannot commit (a record failed to send, the coordinator answered TRANSACTION_ABORTABLE,
/// an authorization check failed). Call <see cref="KafkaProducer.AbortTransactionAsync"/>; the producer stays usable
/// and the next transaction can begin (Kafka's ABORTABLE_ERROR state, TransactionManager.java).
/// </summary>
public class TransactionAbortableException : KafkaException
{
    /// <summary>Creates an abortable error.</summary>
    /// <param name="errorCode">The Kafka error code that made the transaction abortable.</param>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public TransactionAbortableException(ErrorCode errorCode, string message, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
    }
}
