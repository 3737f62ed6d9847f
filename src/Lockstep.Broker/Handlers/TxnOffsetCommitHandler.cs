// TxnOffsetCommit (key 28) — versions 0-5.
//
// Behaviour (KafkaApis.handleTxnOffsetCommitRequest + GroupCoordinatorService.commitTransactionalOffsets):
// - WRITE on the transactional id (authorization hook) else TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every
//   partition; empty group id → INVALID_GROUP_ID; partitions of unknown topics → UNKNOWN_TOPIC_OR_PARTITION.
// - The transaction is verified with the transaction coordinator first (Kafka's
//   CoordinatorPartitionWriter.maybeStartTransactionVerification on the group's __consumer_offsets partition):
//   (transactional id, producer id, epoch) must have an ongoing transaction that includes the offsets partition —
//   added by AddOffsetsToTxn for v0-4; v5 (KIP-890 transactions V2) adds it implicitly, like Produce v12.
// - Then the group coordinator fences by member/generation when the request names them (KIP-447, v3+:
//   UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID) and writes the offsets as a transactional batch;
//   they stay pending (OffsetFetch RequireStable → UNSTABLE_OFFSET_COMMIT) until the transaction's marker applies
//   (commit) or drops (abort) them. The response is sent once the batch is durable.
// Version notes: verification errors are translated as AddPartitionsToTxnManager does: PRODUCER_FENCED →
// INVALID_PRODUCER_EPOCH always; TRANSACTION_ABORTABLE only from v4 (older: INVALID_TXN_STATE). v0-1 get
// COORDINATOR_NOT_AVAILABLE instead of COORDINATOR_LOAD_IN_PROGRESS (never produced here). v2 CommittedLeaderEpoch;
// v3 flexible + GenerationId/MemberId/GroupInstanceId; v5 implicit add of the group. v6 (topic ids) not advertised.
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Storage;

namespace Lockstep.Broker.Handlers;

/// <summary>Verifies the transaction, then maps TxnOffsetCommit to <see cref="GroupCoordinator.CommitTransactionalOffsetsAsync"/>.</summary>
internal sealed class TxnOffsetCommitHandler(GroupCoordinator groups, TopicManager topics)
    : ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse>
{
    /// <summary>Every group lives in partition 0 of the offsets log (single node), as AddOffsetsToTxn assumes.</summary>
    private static readonly TopicPartition OffsetsPartition = new(PartitionMarkerWriter.OffsetsTopicName, 0);

    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 5;

    /// <inheritdoc />
    protected override async ValueTask<TxnOffsetCommitResponse?> HandleAsync(
        RequestContext context, TxnOffsetCommitRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var response = new TxnOffsetCommitResponse();
        var slots = new List<TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition>();
        var entries = new List<OffsetCommitEntry>();
        foreach (var topic in request.Topics)
        {
            var responseTopic = new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic { Name = topic.Name };
            response.Topics.Add(responseTopic);
            topics.TryGetTopic(topic.Name, out var info);
            foreach (var partition in topic.Partitions)
            {
                var slot = new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition { PartitionIndex = partition.PartitionIndex };
                responseTopic.Partitions.Add(slot);
                if (info is null || !topics.TryGetPartition(topic.Name, partition.PartitionIndex, out _))
                {
                    slot.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
                    continue;
                }

                slots.Add(slot);
                entries.Add(new OffsetCommitEntry(
                    new TopicPartition(topic.Name, partition.PartitionIndex),
                    info.TopicId,
                    partition.CommittedOffset,
                    version >= 2 ? partition.CommittedLeaderEpoch : -1,
                    partition.CommittedMetadata));
            }
        }

        var transactions = groups.Transactions;
        ErrorCode? requestError =
            transactions is null ? ErrorCode.CoordinatorNotAvailable
            : !transactions.Authorizer.Authorize(TransactionalIdOperation.Write, request.TransactionalId)
                ? ErrorCode.TransactionalIdAuthorizationFailed
            : string.IsNullOrEmpty(request.GroupId) ? ErrorCode.InvalidGroupId
            : null;
        if (requestError is { } early)
        {
            // KafkaApis answers authorization failures for every partition, known or not.
            foreach (var topic in response.Topics)
            {
                foreach (var partition in topic.Partitions)
                {
                    partition.ErrorCode = (short)early;
                }
            }

            return response;
        }

        if (entries.Count == 0)
        {
            return response;
        }

        // Synchronous: the coordinator decides (and, for v5, starts the implicit add) before our first await.
        var verification = transactions!.Verify(request.TransactionalId, request.ProducerId, request.ProducerEpoch,
            OffsetsPartition, addPartition: version >= 5);
        var error = verification.Error;
        if (error == ErrorCode.None && !verification.Durable.IsCompletedSuccessfully)
        {
            // The implicit add must be durable before offsets that only its marker can resolve are written.
            try
            {
                await verification.Durable.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (System.IO.IOException)
            {
                error = ErrorCode.CoordinatorNotAvailable;
            }
        }

        IReadOnlyList<ErrorCode> errors;
        if (error != ErrorCode.None)
        {
            var translated = Translate(error, version);
            errors = [.. System.Linq.Enumerable.Repeat(translated, entries.Count)];
        }
        else
        {
            var args = new TxnOffsetCommitArgs(
                request.GroupId,
                request.ProducerId,
                request.ProducerEpoch,
                version >= 3 ? request.GenerationIdOrMemberEpoch : -1,
                version >= 3 ? request.MemberId : "",
                version >= 3 ? request.GroupInstanceId : null,
                entries);
            errors = await groups.CommitTransactionalOffsetsAsync(args).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < slots.Count; i++)
        {
            slots[i].ErrorCode = (short)errors[i];
        }

        return response;
    }

    /// <summary>AddPartitionsToTxnManager's mapping of verification errors, then the v0-1 load-in-progress rule.</summary>
    private static ErrorCode Translate(ErrorCode error, short version) => error switch
    {
        ErrorCode.ProducerFenced => ErrorCode.InvalidProducerEpoch,
        ErrorCode.TransactionAbortable when version < 4 => ErrorCode.InvalidTxnState,
        ErrorCode.CoordinatorLoadInProgress when version < 2 => ErrorCode.CoordinatorNotAvailable,
        _ => error,
    };
}
