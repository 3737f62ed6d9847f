// DescribeTransactions (key 65) — version 0.
//
// Behaviour:
// - Per requested id: DESCRIBE on it (authorization hook) else TRANSACTIONAL_ID_AUTHORIZATION_FAILED; an empty id →
//   INVALID_REQUEST; unknown (or expiring) → TRANSACTIONAL_ID_NOT_FOUND; else the state name, TransactionTimeoutMs
//   (2147483647 for a KIP-939 2PC transaction), TransactionStartTimeMs (-1 when no transaction is open), the
//   producer id/epoch of the transaction and its partitions grouped by topic
//   (TransactionCoordinator.handleDescribeTransactions).
// Version notes: v0 only (flexible).
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Describes transactions (kafka-transactions.sh describe).</summary>
internal sealed class DescribeTransactionsHandler(TransactionCoordinator coordinator)
    : ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 0;

    /// <inheritdoc />
    protected override ValueTask<DescribeTransactionsResponse?> HandleAsync(
        RequestContext context, DescribeTransactionsRequest request, CancellationToken cancellationToken)
    {
        var response = new DescribeTransactionsResponse();
        foreach (var id in request.TransactionalIds)
        {
            response.TransactionStates.Add(Describe(id));
        }

        return ValueTask.FromResult<DescribeTransactionsResponse?>(response);
    }

    private DescribeTransactionsResponse.TransactionStateData Describe(string id)
    {
        var state = new DescribeTransactionsResponse.TransactionStateData { TransactionalId = id };
        if (!coordinator.Authorizer.Authorize(TransactionalIdOperation.Describe, id))
        {
            state.ErrorCode = (short)ErrorCode.TransactionalIdAuthorizationFailed;
            return state;
        }

        if (id.Length == 0)
        {
            state.ErrorCode = (short)ErrorCode.InvalidRequest;
            return state;
        }

        var (error, snapshot) = coordinator.Describe(id);
        state.ErrorCode = (short)error;
        if (snapshot is null)
        {
            return state;
        }

        state.TransactionState = snapshot.State.Name();
        state.TransactionTimeoutMs = snapshot.TimeoutMs;
        state.TransactionStartTimeMs = snapshot.StartMs;
        state.ProducerId = snapshot.ProducerId;
        state.ProducerEpoch = snapshot.ProducerEpoch;
        state.Topics = snapshot.Partitions
            .GroupBy(p => p.Topic, System.StringComparer.Ordinal)
            .OrderBy(g => g.Key, System.StringComparer.Ordinal)
            .Select(g => new DescribeTransactionsResponse.TopicData { Topic = g.Key, Partitions = g.Select(p => p.Partition).Order().ToList() })
            .ToList();
        return state;
    }
}
