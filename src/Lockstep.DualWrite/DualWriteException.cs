using System;

namespace Lockstep.DualWrite;

/// <summary>
/// A unit of work of <see cref="DualWriter"/> failed; <see cref="Outcome"/> says whether its rows and events exist.
/// Whatever the outcome, the DB and Kafka agree once recovery has run (<see cref="DualWriter"/> runs it before the
/// next unit).
/// </summary>
public class DualWriteException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="outcome">What happened to the unit of work.</param>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The underlying database or Kafka error.</param>
    public DualWriteException(DualWriteOutcome outcome, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Outcome = outcome;
    }

    /// <summary>Whether the unit's rows and events exist.</summary>
    public DualWriteOutcome Outcome { get; }
}

/// <summary>
/// Another producer with the same transactional id fenced this writer (KIP-98 epoch fencing; dual-write.md failure
/// table, row "zombie"). This instance is no longer the owner of the id: stop using it. If the fence hit step 8
/// (<see cref="DualWriteException.Outcome"/> is <see cref="DualWriteOutcome.Committed"/>), the new owner commits the
/// prepared transaction from the DB decision; otherwise the unit was rolled back and the new owner aborts it.
/// </summary>
public sealed class DualWriterFencedException : DualWriteException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="transactionalId">The id another instance took over.</param>
    /// <param name="outcome">What happened to the unit of work.</param>
    /// <param name="innerException">The client's fencing error.</param>
    public DualWriterFencedException(string transactionalId, DualWriteOutcome outcome, Exception? innerException)
        : base(outcome, $"Transactional id '{transactionalId}' was taken over by another producer (fenced); this "
            + $"writer must stop. Unit of work: {outcome}.", innerException)
    {
        TransactionalId = transactionalId;
    }

    /// <summary>The transactional id another instance took over.</summary>
    public string TransactionalId { get; }
}
