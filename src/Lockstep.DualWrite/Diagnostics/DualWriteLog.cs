using System;
using Microsoft.Extensions.Logging;

namespace Lockstep.DualWrite.Diagnostics;

/// <summary>Log messages of the dual writer and its pool (event ids 600-699).</summary>
internal static partial class DualWriteLog
{
    [LoggerMessage(600, LogLevel.Information, "Recovered {TransactionalId}: the prepared Kafka transaction was {Outcome} "
        + "from the database's decision.")]
    public static partial void RecoveredPrepared(ILogger logger, string transactionalId, RecoveryOutcome outcome);

    [LoggerMessage(601, LogLevel.Debug, "Recovered {TransactionalId}: nothing was prepared.")]
    public static partial void RecoveredNothing(ILogger logger, string transactionalId);

    [LoggerMessage(602, LogLevel.Warning, "Recovery of {TransactionalId} failed; it is retried before the next unit.")]
    public static partial void RecoveryFailed(ILogger logger, string transactionalId, Exception error);

    [LoggerMessage(603, LogLevel.Warning, "{TransactionalId} was fenced by another producer of the same transactional id "
        + "(a second instance, or a takeover after this instance's lease lapsed); this writer stops using it.")]
    public static partial void Fenced(ILogger logger, string transactionalId, Exception? error);

    [LoggerMessage(604, LogLevel.Warning, "The database commit of {TransactionalId} failed ({Message}); resolving the "
        + "outcome by re-reading the committed token.")]
    public static partial void CommitOutcomeUnknown(ILogger logger, string transactionalId, string message);

    [LoggerMessage(605, LogLevel.Warning, "The database committed but the Kafka commit of {TransactionalId} failed; "
        + "recovering to complete it.")]
    public static partial void KafkaCommitFailed(ILogger logger, string transactionalId, Exception error);

    [LoggerMessage(620, LogLevel.Information, "Pool {InstanceId} holds {Count} of {PoolSize} transactional ids: {Ids}.")]
    public static partial void PoolMembers(ILogger logger, string instanceId, int count, int poolSize, string ids);

    [LoggerMessage(621, LogLevel.Information, "Pool {InstanceId} took over {TransactionalId} (lease of {PreviousOwner} "
        + "expired) and recovered it: {Outcome}.")]
    public static partial void TookOver(ILogger logger, string instanceId, string transactionalId, string previousOwner,
        RecoveryOutcome outcome);

    [LoggerMessage(622, LogLevel.Warning, "Pool {InstanceId} lost the lease of {TransactionalId}; the id leaves the pool "
        + "once its current unit ends.")]
    public static partial void LeaseLost(ILogger logger, string instanceId, string transactionalId);

    [LoggerMessage(623, LogLevel.Warning, "Pool {InstanceId} could not renew the lease of {TransactionalId}; retrying.")]
    public static partial void RenewFailed(ILogger logger, string instanceId, string transactionalId, Exception error);

    [LoggerMessage(624, LogLevel.Warning, "Pool {InstanceId}: scanning for free or expired transactional ids failed; "
        + "retrying.")]
    public static partial void ScanFailed(ILogger logger, string instanceId, Exception error);

    [LoggerMessage(625, LogLevel.Warning, "Pool {InstanceId} acquired {TransactionalId} but recovering it failed; the "
        + "lease is released for another attempt.")]
    public static partial void AcquireRecoveryFailed(ILogger logger, string instanceId, string transactionalId, Exception error);

    [LoggerMessage(626, LogLevel.Warning, "Pool {InstanceId} holds only {Count} of {PoolSize} transactional ids (the id "
        + "space of {TotalIds} is leased by other instances); units wait for free ids. Raise TotalIds to at least the sum "
        + "of every instance's PoolSize.")]
    public static partial void Undersized(ILogger logger, string instanceId, int count, int poolSize, int totalIds);

    [LoggerMessage(627, LogLevel.Information, "Pool {InstanceId} released the lease of {TransactionalId}.")]
    public static partial void Released(ILogger logger, string instanceId, string transactionalId);
}
