using System;
using Lockstep.Protocol;

namespace Lockstep.Client;

/// <summary>
/// Another producer with the same <c>transactional.id</c> (or the same producer id) initialised with a newer epoch,
/// so this instance is a zombie (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH). Fatal: dispose the producer; the newer
/// instance owns the transactional id now.
/// </summary>
public sealed class ProducerFencedException : KafkaFatalException
{
    /// <summary>Creates a fenced error.</summary>
    /// <param name="errorCode"><see cref="ErrorCode.ProducerFenced"/> or <see cref="ErrorCode.InvalidProducerEpoch"/>.
    /// </param>
    /// <param name="message">What was fenced.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public ProducerFencedException(ErrorCode errorCode, string message, Exception? innerException = null)
        : base(errorCode, message, innerException)
    {
    }
}
