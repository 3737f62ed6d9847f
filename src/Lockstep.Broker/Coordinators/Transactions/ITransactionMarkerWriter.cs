using System;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>
/// Writes one COMMIT/ABORT marker to one partition and completes when it is durable — the single-node stand-in for
/// Kafka's <c>TransactionMarkerChannelManager</c> → WriteTxnMarkers (kip939-spec.md §7.7). An interface so tests
/// can hold markers back (to observe the Prepare* states) or fail them.
/// </summary>
internal interface ITransactionMarkerWriter
{
    /// <summary>
    /// Writes the marker. Returns None when durable, <see cref="ErrorCode.UnknownTopicOrPartition"/> when the
    /// partition no longer exists (Kafka drops markers for deleted topics), or the partition's error.
    /// </summary>
    ValueTask<ErrorCode> WriteAsync(TopicPartition partition, long producerId, short producerEpoch, bool commit,
        int coordinatorEpoch, short transactionVersion, CancellationToken cancellationToken);
}

/// <summary>
/// The broker's marker writer: partitions of regular topics through <c>Partition.WriteTxnMarkerAsync</c>; the
/// group coordinator's offsets partition (AddOffsetsToTxn) through <see cref="OffsetsMarkerHandler"/>, which the
/// TxnOffsetCommit side installs (Kafka's marker on <c>__consumer_offsets</c> makes the group coordinator apply or
/// drop the pending transactional offsets, <c>GroupCoordinator.onTransactionCompleted</c>).
/// </summary>
internal sealed class PartitionMarkerWriter(BrokerCore core) : ITransactionMarkerWriter
{
    /// <summary>Kafka's group metadata topic; its partitions are not TopicManager partitions.</summary>
    public const string OffsetsTopicName = "__consumer_offsets";

    private Func<long, short, bool, CancellationToken, ValueTask<ErrorCode>>? _offsetsMarkerHandler;

    /// <summary>
    /// Completion of transactional offset commits: (producer id, epoch, commit?) → None once applied or dropped.
    /// Null until the TxnOffsetCommit side installs it; then an offsets-partition marker is a no-op.
    /// </summary>
    public Func<long, short, bool, CancellationToken, ValueTask<ErrorCode>>? OffsetsMarkerHandler
    {
        get => Volatile.Read(ref _offsetsMarkerHandler);
        set => Volatile.Write(ref _offsetsMarkerHandler, value);
    }

    /// <inheritdoc />
    public ValueTask<ErrorCode> WriteAsync(TopicPartition partition, long producerId, short producerEpoch, bool commit,
        int coordinatorEpoch, short transactionVersion, CancellationToken cancellationToken)
    {
        if (string.Equals(partition.Topic, OffsetsTopicName, StringComparison.Ordinal))
        {
            return OffsetsMarkerHandler is { } handler
                ? handler(producerId, producerEpoch, commit, cancellationToken)
                : ValueTask.FromResult(ErrorCode.None);
        }

        return core.Topics.TryGetPartition(partition.Topic, partition.Partition, out var target)
            ? target.WriteTxnMarkerAsync(producerId, producerEpoch, commit, coordinatorEpoch, transactionVersion, cancellationToken)
            : ValueTask.FromResult(ErrorCode.UnknownTopicOrPartition);
    }
}
