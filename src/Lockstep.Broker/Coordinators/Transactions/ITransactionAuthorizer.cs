namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>ACL operations on a TRANSACTIONAL_ID resource that the transaction APIs check (Kafka's <c>AclOperation</c>).</summary>
internal enum TransactionalIdOperation
{
    /// <summary>WRITE: InitProducerId, AddPartitionsToTxn (v0-3), AddOffsetsToTxn, EndTxn, TxnOffsetCommit.</summary>
    Write,

    /// <summary>DESCRIBE: DescribeTransactions and ListTransactions filter by it.</summary>
    Describe,

    /// <summary>TWO_PHASE_COMMIT (KIP-939): InitProducerId with Enable2Pc=true additionally needs it.</summary>
    TwoPhaseCommit,
}

/// <summary>
/// The authorization check points of the transaction APIs, called exactly where Kafka's <c>KafkaApis</c> calls its
/// authorizer (before the coordinator sees the request). Lockstep has no ACLs yet, so the broker installs
/// <see cref="AllowAllTransactionAuthorizer"/>; the hook exists so that the KIP-939 TWO_PHASE_COMMIT gate and the
/// error codes it produces (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, kip939-spec.md §7.10) are in place and tested.
/// </summary>
internal interface ITransactionAuthorizer
{
    /// <summary>True when the connection may perform <paramref name="operation"/> on <paramref name="transactionalId"/>.</summary>
    bool Authorize(TransactionalIdOperation operation, string transactionalId);
}

/// <summary>Allows everything (no ACLs configured).</summary>
internal sealed class AllowAllTransactionAuthorizer : ITransactionAuthorizer
{
    /// <summary>The shared instance.</summary>
    public static readonly AllowAllTransactionAuthorizer Instance = new();

    /// <inheritdoc />
    public bool Authorize(TransactionalIdOperation operation, string transactionalId) => true;
}
