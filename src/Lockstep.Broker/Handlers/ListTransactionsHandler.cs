// ListTransactions (key 66) — versions 0-2.
//
// Behaviour:
// - Lists the transactional ids the coordinator knows (never Dead ones) with producer id and state name, filtered
//   by StateFilters (names as DescribeTransactions reports them; unknown names are echoed in UnknownStateFilters
//   and match nothing), ProducerIdFilters, DurationFilter (v1+: only transactions running longer than that many
//   ms; -1 = off) and TransactionalIdPattern (v2+: a Java regular expression that must match the whole id, run
//   with .NET Regex under a match timeout). A pattern that does not compile → INVALID_REGULAR_EXPRESSION (what
//   Kafka's InvalidRegularExpression maps to).
// - Rows are filtered by DESCRIBE on each id (authorization hook), as KafkaApis does.
// Version notes: v0 StateFilters/ProducerIdFilters; v1 DurationFilter (KIP-994); v2 TransactionalIdPattern (KIP-1152).
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Lists transactions (kafka-transactions.sh list / find-hanging).</summary>
internal sealed class ListTransactionsHandler(TransactionCoordinator coordinator) : ApiHandler<ListTransactionsRequest, ListTransactionsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 2;

    /// <inheritdoc />
    protected override ValueTask<ListTransactionsResponse?> HandleAsync(
        RequestContext context, ListTransactionsRequest request, CancellationToken cancellationToken)
    {
        var (error, rows, unknown) = coordinator.ListTransactions(request.ProducerIdFilters, request.StateFilters,
            context.ApiVersion >= 1 ? request.DurationFilter : -1,
            context.ApiVersion >= 2 ? request.TransactionalIdPattern : null);
        var response = new ListTransactionsResponse { ErrorCode = (short)error, UnknownStateFilters = unknown };
        foreach (var row in rows)
        {
            if (coordinator.Authorizer.Authorize(TransactionalIdOperation.Describe, row.TransactionalId))
            {
                response.TransactionStates.Add(new ListTransactionsResponse.TransactionStateData
                {
                    TransactionalId = row.TransactionalId,
                    ProducerId = row.ProducerId,
                    TransactionState = row.State,
                });
            }
        }

        return ValueTask.FromResult<ListTransactionsResponse?>(response);
    }
}
