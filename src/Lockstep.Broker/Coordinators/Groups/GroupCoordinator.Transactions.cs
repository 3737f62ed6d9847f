using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages.Storage;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Groups;

// Transactional offset commits (KIP-98 TxnOffsetCommit, KIP-447 generation fencing): Kafka's
// OffsetMetadataManager.commitTransactionalOffset / replay with a producer id / replayEndTransactionMarker.
//
// Durability follows Kafka's layout of __consumer_offsets: a TxnOffsetCommit is one *transactional* batch (producer
// id + epoch in its header) of ordinary offset records; the transaction coordinator's COMMIT/ABORT marker for the
// offsets partition is a control batch appended to the same log. Replay therefore rebuilds the pending offsets of
// every transaction still open and applies or drops those of finished ones, in log order, exactly like Kafka's
// coordinator loader.
internal sealed partial class GroupCoordinator
{
    private const long TxnNoProducerId = -1;

    /// <summary>
    /// Connects the transaction side (issue 4): TxnOffsetCommit verifies against <paramref name="transactions"/>, and
    /// the coordinator's marker for the offsets partition (<see cref="PartitionMarkerWriter.OffsetsMarkerHandler"/>)
    /// resolves the pending offsets here. Called once while the broker is assembled, before any component starts, so
    /// markers resent at start-up for Prepare* transactions already reach this coordinator.
    /// </summary>
    public void AttachTransactionCoordinator(TransactionCoordinator transactions)
    {
        Transactions = transactions;
        if (transactions.MarkerWriter is PartitionMarkerWriter writer)
        {
            writer.OffsetsMarkerHandler = CompleteTransactionAsync;
        }
    }

    /// <summary>The transaction coordinator (null when the broker runs without one: TxnOffsetCommit is then not served).</summary>
    internal TransactionCoordinator? Transactions { get; private set; }

    /// <summary>
    /// TxnOffsetCommit after the transaction was verified: validates the group (KIP-447 fencing), appends the offsets
    /// as a transactional batch and records them as pending for the producer id. One error per entry; completes when
    /// the batch is durable.
    /// </summary>
    public async Task<IReadOnlyList<ErrorCode>> CommitTransactionalOffsetsAsync(TxnOffsetCommitArgs args)
    {
        var (errors, durable) = await SubmitAsync(() => CommitTransactional(args)).ConfigureAwait(false);
        try
        {
            await durable.ConfigureAwait(false);
        }
        catch (IOException)
        {
            return errors.Select(e => e == ErrorCode.None ? ErrorCode.NotCoordinator : e).ToList();
        }

        return errors;
    }

    /// <summary>
    /// The transaction coordinator's marker for the offsets partition: appends the COMMIT/ABORT control batch and
    /// applies (commit) or drops (abort) every pending offset of <paramref name="producerId"/>, in all groups (one
    /// offsets partition holds them all). Returns None once durable; a storage error makes the coordinator retry.
    /// </summary>
    public async ValueTask<ErrorCode> CompleteTransactionAsync(long producerId, short producerEpoch, bool commit,
        CancellationToken cancellationToken)
    {
        Task? durable;
        try
        {
            durable = await SubmitAsync(() => WriteTransactionMarkerAsync(producerId, producerEpoch, commit))
                .WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return ErrorCode.NotCoordinator;
        }

        if (durable is null)
        {
            return ErrorCode.KafkaStorageError;
        }

        try
        {
            await durable.WaitAsync(cancellationToken).ConfigureAwait(false);
            return ErrorCode.None;
        }
        catch (IOException)
        {
            return ErrorCode.KafkaStorageError;
        }
    }

    private (IReadOnlyList<ErrorCode>, Task) CommitTransactional(TxnOffsetCommitArgs args)
    {
        var now = NowMs;
        if (!_groups.TryGetValue(args.GroupId, out var group))
        {
            if (args.GenerationId >= 0)
            {
                // OffsetMetadataManager.validateTransactionalOffsetCommit: GROUP_ID_NOT_FOUND only from v6 (not
                // advertised); older versions keep ILLEGAL_GENERATION.
                return (Enumerable.Repeat(ErrorCode.IllegalGeneration, args.Entries.Count).ToArray(), Task.CompletedTask);
            }

            // No group management (or a pre-KIP-447 producer): a simple group is created, as for OffsetCommit.
            group = GetOrCreateGroup(args.GroupId, now);
        }

        var error = ValidateTransactionalOffsetCommit(group, args);
        if (error != ErrorCode.None)
        {
            return (Enumerable.Repeat(error, args.Entries.Count).ToArray(), Task.CompletedTask);
        }

        var errors = new ErrorCode[args.Entries.Count];
        var records = new List<GroupLog.Entry>(args.Entries.Count);
        var pending = new List<(TopicPartition, CommittedOffset)>(args.Entries.Count);
        for (var i = 0; i < args.Entries.Count; i++)
        {
            var entry = args.Entries[i];
            var metadata = entry.Metadata ?? "";
            if (metadata.Length > OffsetMetadataMaxBytes)
            {
                errors[i] = ErrorCode.OffsetMetadataTooLarge;
                continue;
            }

            // Transactional commits never carry an explicit expiry (TxnOffsetCommit has no retention field).
            var value = new CommittedOffset(entry.Offset, entry.LeaderEpoch, metadata, now, -1);
            records.Add(GroupLog.OffsetRecord(args.GroupId, entry.Partition, value, entry.TopicId));
            pending.Add((entry.Partition, value));
        }

        if (records.Count == 0)
        {
            return (errors, Task.CompletedTask);
        }

        Task durable;
        try
        {
            durable = Log.AppendTransactionalAsync(records, args.ProducerId, args.ProducerEpoch, now);
        }
        catch (IOException ex)
        {
            LogAppendFailed(ex);
            return (errors.Select(e => e == ErrorCode.None ? ErrorCode.NotCoordinator : e).ToArray(), Task.CompletedTask);
        }

        foreach (var (partition, value) in pending)
        {
            AddPendingTransactionalOffset(args.ProducerId, args.GroupId, partition, value with { Sequence = ++_offsetSequence });
        }

        return (errors, durable);
    }

    /// <summary>
    /// Kafka's <c>ClassicGroup.validateOffsetCommit</c> with <c>isTransactional = true</c>: member and generation are
    /// checked whenever the request names them (KIP-447), but unlike OffsetCommit a request without them is accepted
    /// in any state (pre-KIP-447 producers send none) and a CompletingRebalance group is not refused.
    /// </summary>
    private static ErrorCode ValidateTransactionalOffsetCommit(ClassicGroup group, TxnOffsetCommitArgs args)
    {
        if (group.Is(GroupState.Dead))
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (args.GenerationId < 0 && group.Is(GroupState.Empty))
        {
            return ErrorCode.None;
        }

        if (args.GenerationId >= 0 || args.MemberId.Length > 0 || args.GroupInstanceId is not null)
        {
            var error = ValidateMember(group, args.MemberId, args.GroupInstanceId);
            if (error != ErrorCode.None)
            {
                return error;
            }

            if (args.GenerationId != group.GenerationId)
            {
                return ErrorCode.IllegalGeneration;
            }
        }

        return ErrorCode.None;
    }

    /// <summary>Executor: appends the marker and resolves the producer's pending offsets; null when the write failed.</summary>
    private Task? WriteTransactionMarkerAsync(long producerId, short producerEpoch, bool commit)
    {
        if (!_pendingByProducer.ContainsKey(producerId))
        {
            // Nothing of this producer is pending (a retried marker, or AddOffsetsToTxn without TxnOffsetCommit):
            // Kafka would still append a marker, which changes nothing. Report durability of what is already
            // written, so a retry after a failed fsync still waits for the earlier marker.
            return Log.WhenDurableAsync();
        }

        Task durable;
        try
        {
            durable = Log.AppendMarkerAsync(producerId, producerEpoch, commit, NowMs);
        }
        catch (IOException ex)
        {
            LogAppendFailed(ex);
            return null;
        }

        CompleteTransactionalOffsets(producerId, commit);
        return durable;
    }

    /// <summary>Kafka's <c>replayEndTransactionMarker</c> (also used live once the marker is appended).</summary>
    private void CompleteTransactionalOffsets(long producerId, bool commit)
    {
        if (!_pendingByProducer.Remove(producerId, out var offsets))
        {
            return;
        }

        var now = NowMs;
        foreach (var ((groupId, partition), value) in offsets)
        {
            if (_pendingTransactionalOffsets.TryGetValue(groupId, out var open)
                && open.TryGetValue(partition, out var producers))
            {
                producers.Remove(producerId);
                if (producers.Count == 0)
                {
                    open.Remove(partition);
                    if (open.Count == 0)
                    {
                        _pendingTransactionalOffsets.Remove(groupId);
                    }
                }
            }

            if (!commit)
            {
                continue;
            }

            // As in Kafka, the most recent record wins when transactional and regular commits mix: a regular commit
            // appended after the transactional one is not overwritten when the transaction commits later.
            var group = GetOrCreateGroup(groupId, now);
            if (!group.Offsets.TryGetValue(partition, out var existing) || value.Sequence > existing.Sequence)
            {
                group.Offsets[partition] = value;
            }
        }
    }

    private void AddPendingTransactionalOffset(long producerId, string groupId, TopicPartition partition, CommittedOffset value)
    {
        if (!_pendingByProducer.TryGetValue(producerId, out var offsets))
        {
            _pendingByProducer[producerId] = offsets = [];
        }

        offsets[(groupId, partition)] = value;
        if (!_pendingTransactionalOffsets.TryGetValue(groupId, out var open))
        {
            _pendingTransactionalOffsets[groupId] = open = [];
        }

        if (!open.TryGetValue(partition, out var producers))
        {
            open[partition] = producers = [];
        }

        producers.Add(producerId);
    }

    /// <summary>A deleted group takes its pending transactional offsets with it (Kafka's <c>deleteAllOffsets</c>).</summary>
    private void DropPendingTransactionalOffsets(string groupId)
    {
        if (!_pendingTransactionalOffsets.Remove(groupId, out var open))
        {
            return;
        }

        foreach (var producerId in open.Values.SelectMany(p => p).Distinct().ToList())
        {
            if (_pendingByProducer.TryGetValue(producerId, out var offsets))
            {
                foreach (var key in offsets.Keys.Where(k => k.Group == groupId).ToList())
                {
                    offsets.Remove(key);
                }

                if (offsets.Count == 0)
                {
                    _pendingByProducer.Remove(producerId);
                }
            }
        }
    }

    private CommittedOffset ToCommittedOffset(OffsetCommitValue value) => new(
        value.offset, value.leaderEpoch, value.metadata ?? "", value.commitTimestamp, value.expireTimestamp, ++_offsetSequence);
}
