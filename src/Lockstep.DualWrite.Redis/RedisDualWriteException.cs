using System;
using System.Data.Common;

namespace Lockstep.DualWrite.Redis;

/// <summary>
/// A Redis command of <see cref="RedisDualWriteStore"/> failed (connection lost, server error). Derives from
/// <see cref="DbException"/> so that <see cref="DualWriter"/> treats it as a database failure: before the commit the
/// unit is rolled back and reported as <see cref="DualWriteException"/>; at the commit the outcome is resolved by
/// re-reading the token.
/// </summary>
public class RedisDualWriteException : DbException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The StackExchange.Redis error, if any.</param>
    public RedisDualWriteException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The <c>EXEC</c> of a unit of work was not applied because the state of its transactional id changed after
/// <see cref="IDualWriteTransaction.LockStateAsync"/> (another writer locked or committed the id: the optimistic check
/// of dual-write.md §3) or a condition the unit added itself failed. Nothing of the unit was written;
/// <see cref="DualWriter"/> re-reads the committed token, aborts the Kafka transaction and reports
/// <see cref="DualWriteOutcome.RolledBack"/>.
/// </summary>
public sealed class RedisDualWriteConflictException : RedisDualWriteException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="transactionalId">The transactional id whose commit was not applied.</param>
    /// <param name="stateChanged">True when the state's version check failed; false when only a condition added by the
    /// unit of work failed.</param>
    public RedisDualWriteConflictException(string transactionalId, bool stateChanged)
        : base(stateChanged
            ? $"The Redis transaction of '{transactionalId}' was not applied: another writer locked or committed this "
              + "transactional id after this unit locked it (optimistic check on its version). Nothing was written."
            : $"The Redis transaction of '{transactionalId}' was not applied: a condition added by the unit of work "
              + "failed. Nothing was written.")
    {
        TransactionalId = transactionalId;
        StateChanged = stateChanged;
    }

    /// <summary>The transactional id whose commit was not applied.</summary>
    public string TransactionalId { get; }

    /// <summary>True when another writer changed the id's state; false when the unit's own condition failed.</summary>
    public bool StateChanged { get; }
}
