using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Lockstep.Broker.Internal;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages.Storage;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;
using Lockstep.Storage;

namespace Lockstep.Broker.Partitions;

/// <summary>Metadata of one appended batch of an idempotent producer, kept for duplicate detection.</summary>
/// <param name="FirstSeq">The batch's base sequence.</param>
/// <param name="LastSeq">The batch's last sequence.</param>
/// <param name="FirstOffset">Offset assigned to the batch's first record.</param>
/// <param name="LastOffset">Offset assigned to the batch's last record.</param>
/// <param name="TimestampMs">When the batch was appended (broker clock), or its max timestamp when replayed.</param>
internal readonly record struct BatchMetadata(int FirstSeq, int LastSeq, long FirstOffset, long LastOffset, long TimestampMs);

/// <summary>What <see cref="ProducerStateManager.Check"/> decided about a batch.</summary>
/// <param name="Error">None to append; an error to reject the batch with.</param>
/// <param name="Duplicate">Set when the batch is a retry of a cached batch: answer with its offsets, append nothing.</param>
/// <param name="Message">Why the batch was rejected.</param>
internal readonly record struct ProducerCheck(ErrorCode Error, BatchMetadata? Duplicate, string? Message)
{
    /// <summary>Append the batch.</summary>
    public static ProducerCheck Accept => default;
}

/// <summary>A transaction completed by a marker (Kafka's <c>CompletedTxn</c>); only non-empty transactions yield one.</summary>
/// <param name="ProducerId">The producer.</param>
/// <param name="FirstOffset">Offset of the transaction's first batch on this partition.</param>
/// <param name="LastOffset">Offset of the marker.</param>
/// <param name="IsAborted">ABORT rather than COMMIT.</param>
internal readonly record struct CompletedTxn(long ProducerId, long FirstOffset, long LastOffset, bool IsAborted);

/// <summary>The state of one producer id on one partition (Kafka's <c>ProducerStateEntry</c>).</summary>
internal sealed class ProducerStateEntry(long producerId, short epoch)
{
    /// <summary>The producer id.</summary>
    public long ProducerId { get; } = producerId;

    /// <summary>The newest epoch seen; batches with an older epoch are fenced.</summary>
    public short Epoch { get; set; } = epoch;

    /// <summary>The last <see cref="ProducerStateManager.BatchesToRetain"/> batches of <see cref="Epoch"/>, oldest first.</summary>
    public List<BatchMetadata> Batches { get; } = [];

    /// <summary>Last sequence of the newest batch, or -1 when none is cached.</summary>
    public int LastSeq => Batches.Count == 0 ? RecordBatchHeader.NoSequence : Batches[^1].LastSeq;

    /// <summary>Time of the newest batch, for <c>producer.id.expiration.ms</c>.</summary>
    public long LastTimestampMs { get; set; }

    /// <summary>Epoch of the transaction coordinator that wrote the last marker, -1 before any; older markers are
    /// fenced (TRANSACTION_COORDINATOR_FENCED).</summary>
    public int CoordinatorEpoch { get; set; } = -1;

    /// <summary>First offset of the producer's open transaction on this partition, -1 when none.</summary>
    public long CurrentTxnFirstOffset { get; set; } = -1;

    /// <summary>Whether a transaction of this producer is open on this partition.</summary>
    public bool HasOngoingTxn => CurrentTxnFirstOffset >= 0;
}

/// <summary>
/// Idempotent-producer state of one partition: per producer id its epoch and its last five batches (Kafka's
/// <c>ProducerStateManager</c> and <c>ProducerAppendInfo</c>, kip939-spec.md §8.2). The produce path asks
/// <see cref="Check"/> before appending and calls <see cref="OnAppended"/> after; both run under the partition's
/// append lock, which is what makes validate-then-append atomic.
/// </summary>
/// <remarks>
/// <para><b>Rules</b> (<c>ProducerAppendInfo.checkProducerEpoch/checkSequence</c> and
/// <c>ProducerStateEntry.findDuplicateBatch</c> at the pinned Kafka commit):</para>
/// <list type="bullet">
/// <item>A batch whose epoch and sequence range equal a cached batch is a duplicate: the original offsets are
/// returned and nothing is appended. The check comes first, as in <c>UnifiedLog.analyzeAndValidateProducerState</c>.</item>
/// <item>An epoch below the current one is INVALID_PRODUCER_EPOCH (Kafka 2.7+ replaced PRODUCER_FENCED here).</item>
/// <item>A newer epoch must start at sequence 0; the same epoch must continue at last sequence + 1 (wrapping at
/// int.MaxValue); otherwise OUT_OF_ORDER_SEQUENCE_NUMBER.</item>
/// <item>An unknown producer id is accepted with any sequence: since KIP-360 the broker no longer answers
/// UNKNOWN_PRODUCER_ID, because state legitimately disappears through retention, DeleteRecords or expiration.</item>
/// </list>
/// <para><b>Transactions</b> (§8.2, §8.4; <c>UnifiedLog.analyzeAndValidateProducerState</c>,
/// <c>ProducerAppendInfo.appendDataBatch/appendEndTxnMarker</c>): a transactional batch is accepted only when its
/// producer already has an open transaction with the same epoch on this partition, or the coordinator just verified
/// it (KIP-890 guard; the caller passes the verification in); otherwise INVALID_PRODUCER_EPOCH for an older epoch
/// and INVALID_TXN_STATE else. A non-transactional batch while a transaction is open is INVALID_TXN_STATE. The
/// first transactional batch opens the transaction at its base offset (<see cref="ProducerStateEntry.CurrentTxnFirstOffset"/>);
/// open transactions are also kept ordered by first offset, which gives the first unstable offset. A marker closes
/// it (<see cref="CheckMarker"/> then <see cref="CompleteTxn"/>). Producers with an open transaction never
/// expire.</para>
/// <para><b>Persistence.</b> Snapshots use Kafka's file layout (<c>{offset:D20}.snapshot</c>: int16 version 1,
/// CRC-32C of the rest, the <c>ProducerSnapshot</c> record) with one difference: every cached batch of a producer
/// is written as its own entry, oldest first, so that all five retries stay deduplicated across a restart (Kafka
/// keeps only the last batch). Entries carry <c>CoordinatorEpoch</c> and <c>CurrentTxnFirstOffset</c>, so open
/// transactions (and with them the last stable offset) survive a restart. On open the newest snapshot at or below the log end offset is loaded and the batch
/// headers after it are replayed.</para>
/// <para><b>Threading.</b> Not thread-safe; the owning partition serializes every call.</para>
/// </remarks>
internal sealed class ProducerStateManager
{
    /// <summary>Batches kept per producer for duplicate detection (Kafka's <c>NUM_BATCHES_TO_RETAIN</c>; the
    /// producer allows five in-flight requests per connection).</summary>
    public const int BatchesToRetain = 5;

    /// <summary>The snapshot file suffix, as in Kafka's log directories.</summary>
    public const string SnapshotSuffix = ".snapshot";

    private const short SnapshotVersion = 1;

    /// <summary>Snapshot header: version (2 bytes) then CRC (4 bytes); the CRC covers everything after it.</summary>
    private const int SnapshotCrcEnd = 6;

    /// <summary>Snapshots kept on disk: the newest and one older one, in case a crash cuts the log below the newest.</summary>
    private const int SnapshotsToKeep = 2;

    private readonly Dictionary<long, ProducerStateEntry> _producers = [];

    // Open transactions by (first offset, producer id): Kafka's ongoingTxns map, ordered by first offset.
    private readonly SortedSet<(long FirstOffset, long ProducerId)> _ongoing = [];

    /// <summary>Producers currently tracked.</summary>
    public IReadOnlyCollection<ProducerStateEntry> Producers => _producers.Values;

    /// <summary>Looks up a producer's state.</summary>
    public bool TryGet(long producerId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ProducerStateEntry? entry) =>
        _producers.TryGetValue(producerId, out entry);

    /// <summary>
    /// First offset of the earliest open transaction, or <see cref="long.MaxValue"/> when none
    /// (Kafka's <c>firstUndecidedOffset</c> without the not-yet-replicated part, which the partition adds).
    /// </summary>
    public long FirstOngoingOffset => _ongoing.Count == 0 ? long.MaxValue : _ongoing.Min.FirstOffset;

    /// <summary>Open transactions ordered by first offset.</summary>
    public IReadOnlyCollection<(long FirstOffset, long ProducerId)> OngoingTransactions => _ongoing;

    /// <summary>
    /// Whether <paramref name="producerId"/> has an open transaction with exactly <paramref name="epoch"/> here
    /// (Kafka's <c>UnifiedLog.hasOngoingTransaction</c>): then a transactional batch needs no verification.
    /// </summary>
    public bool HasOngoingTransaction(long producerId, short epoch) =>
        _producers.TryGetValue(producerId, out var entry) && entry.HasOngoingTxn && entry.Epoch == epoch;

    /// <summary>Validates a client batch against the producer's state (see the class remarks).</summary>
    /// <param name="batch">The batch header.</param>
    /// <param name="verified">The coordinator verified (or added) this partition for the batch's transaction
    /// just now, under the partition's append lock (the single-node form of Kafka's VerificationGuard).</param>
    /// <param name="transactionsV2">The verification was a TV2 implicit add (Produce v12+).</param>
    public ProducerCheck Check(in RecordBatchHeader batch, bool verified = false, bool transactionsV2 = false)
    {
        if (batch.ProducerId == RecordBatchHeader.NoProducerId)
        {
            return ProducerCheck.Accept;
        }

        _producers.TryGetValue(batch.ProducerId, out var entry);
        if (entry is not null && batch.ProducerEpoch == entry.Epoch)
        {
            // 1. Duplicates first (UnifiedLog.analyzeAndValidateProducerState checks them before anything else).
            foreach (var cached in entry.Batches)
            {
                if (cached.FirstSeq == batch.BaseSequence && cached.LastSeq == batch.LastSequence)
                {
                    return new ProducerCheck(ErrorCode.None, cached, null);
                }
            }
        }

        if (batch.IsTransactional && !(entry is { HasOngoingTxn: true } && entry.Epoch == batch.ProducerEpoch))
        {
            // 2. The KIP-890 transactional guard.
            if (entry is not null && batch.ProducerEpoch < entry.Epoch)
            {
                return new ProducerCheck(ErrorCode.InvalidProducerEpoch, null,
                    $"Epoch {batch.ProducerEpoch} of producer {batch.ProducerId} is older than the last seen epoch {entry.Epoch}.");
            }

            if (!verified)
            {
                return new ProducerCheck(ErrorCode.InvalidTxnState, null,
                    $"Record of producer {batch.ProducerId} epoch {batch.ProducerEpoch} was not part of an ongoing transaction.");
            }

            if (transactionsV2 && (entry is null || entry.Batches.Count == 0) && batch.BaseSequence != 0)
            {
                // ProducerAppendInfo.checkSequence: a TV2 producer with no state here starts at sequence 0.
                return new ProducerCheck(ErrorCode.OutOfOrderSequenceNumber, null,
                    $"Invalid sequence {batch.BaseSequence} of producer {batch.ProducerId}: expected 0 for a transactions V2 producer with no state.");
            }
        }

        if (entry is null)
        {
            return ProducerCheck.Accept;
        }


        if (batch.ProducerEpoch < entry.Epoch)
        {
            return new ProducerCheck(ErrorCode.InvalidProducerEpoch, null,
                $"Epoch {batch.ProducerEpoch} of producer {batch.ProducerId} is older than the last seen epoch {entry.Epoch}.");
        }

        if (batch.ProducerEpoch != entry.Epoch)
        {
            if (batch.BaseSequence != 0)
            {
                return new ProducerCheck(ErrorCode.OutOfOrderSequenceNumber, null,
                    $"Invalid sequence {batch.BaseSequence} for new epoch {batch.ProducerEpoch} of producer {batch.ProducerId}: a new epoch starts at 0.");
            }
        }
        else if (!InSequence(entry.LastSeq, batch.BaseSequence))
        {
            return new ProducerCheck(ErrorCode.OutOfOrderSequenceNumber, null,
                $"Out of order sequence {batch.BaseSequence} for producer {batch.ProducerId} epoch {batch.ProducerEpoch}: expected {NextSequence(entry.LastSeq)}.");
        }

        if (!batch.IsTransactional && entry.HasOngoingTxn)
        {
            // ProducerAppendInfo.appendDataBatch: checked after epoch and sequence, as there.
            return new ProducerCheck(ErrorCode.InvalidTxnState, null,
                $"Expected a transactional write from producer {batch.ProducerId}: it has an open transaction at offset {entry.CurrentTxnFirstOffset}.");
        }

        return ProducerCheck.Accept;
    }

    /// <summary>
    /// Records an appended batch (offsets assigned). Also used to replay the log on open, where batches are applied
    /// without validation as Kafka does for <c>AppendOrigin.REPLICATION</c>; a batch with an older epoch than the
    /// state (impossible for a log this broker wrote) is ignored.
    /// </summary>
    public void OnAppended(in RecordBatchHeader batch, long timestampMs)
    {
        if (batch.ProducerId == RecordBatchHeader.NoProducerId || batch.IsControl)
        {
            // Markers carry no sequence; they go through CompleteTxn.
            return;
        }

        var entry = Apply(batch.ProducerId, batch.ProducerEpoch,
            new BatchMetadata(batch.BaseSequence, batch.LastSequence, batch.BaseOffset, batch.LastOffset, timestampMs));
        if (entry is not null && batch.IsTransactional && !entry.HasOngoingTxn)
        {
            // The first batch of a transaction opens it (ProducerAppendInfo.appendDataBatch).
            entry.CurrentTxnFirstOffset = batch.BaseOffset;
            _ongoing.Add((batch.BaseOffset, batch.ProducerId));
        }
    }

    /// <summary>
    /// Validates a COMMIT/ABORT marker from the coordinator (kip939-spec.md §8.4; <c>ProducerAppendInfo
    /// .checkProducerEpoch</c> then <c>checkCoordinatorEpoch</c>): TV0/1 needs marker epoch ≥ current, TV2 needs
    /// marker epoch &gt; current except the KAFKA-19999 idempotent retry (epoch == current and no open transaction,
    /// or epoch == short.MaxValue); an older coordinator epoch is TRANSACTION_COORDINATOR_FENCED.
    /// </summary>
    public ProducerCheck CheckMarker(long producerId, short epoch, int coordinatorEpoch, short transactionVersion)
    {
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            return ProducerCheck.Accept;
        }

        var invalidEpoch = transactionVersion >= 2 ? epoch <= entry.Epoch : epoch < entry.Epoch;
        var idempotentRetry = transactionVersion >= 2 && epoch == entry.Epoch
            && (!entry.HasOngoingTxn || epoch == short.MaxValue);
        if (invalidEpoch && !idempotentRetry)
        {
            return new ProducerCheck(ErrorCode.InvalidProducerEpoch, null,
                $"Marker epoch {epoch} of producer {producerId} is {(transactionVersion >= 2 ? "<=" : "<")} the last seen epoch {entry.Epoch} (TV{transactionVersion}).");
        }

        if (coordinatorEpoch < entry.CoordinatorEpoch)
        {
            return new ProducerCheck(ErrorCode.TransactionCoordinatorFenced, null,
                $"Coordinator epoch {coordinatorEpoch} of the marker for producer {producerId} is older than {entry.CoordinatorEpoch}.");
        }

        return ProducerCheck.Accept;
    }

    /// <summary>
    /// The last stable offset recorded with an abort of <paramref name="completed"/> in the transaction index:
    /// the first offset of the earliest open transaction of <em>another</em> producer, else marker offset + 1
    /// (Kafka's <c>ProducerStateManager.lastStableOffset(CompletedTxn)</c>). Call before <see cref="CompleteTxn"/>
    /// or after, the completed producer is skipped either way.
    /// </summary>
    public long LastStableOffsetAfter(in CompletedTxn completed)
    {
        foreach (var (firstOffset, producerId) in _ongoing)
        {
            if (producerId != completed.ProducerId)
            {
                return firstOffset;
            }
        }

        return completed.LastOffset + 1;
    }

    /// <summary>
    /// The transaction a marker at <paramref name="markerOffset"/> would complete, without changing state (null for
    /// a marker of a producer with no open transaction: such a marker does not touch the LSO or the index).
    /// </summary>
    public CompletedTxn? PeekCompletion(long producerId, long markerOffset, bool isAbort) =>
        _producers.TryGetValue(producerId, out var entry) && entry.HasOngoingTxn
            ? new CompletedTxn(producerId, entry.CurrentTxnFirstOffset, markerOffset, isAbort)
            : null;

    /// <summary>
    /// Applies an appended (or replayed) marker: closes the open transaction and updates epoch, coordinator epoch
    /// and timestamp (<c>ProducerStateEntry.update</c>: the batch cache is cleared only when the epoch changes, i.e.
    /// always for TV2, never for TV0/1). Returns the completed transaction, or null when none was open.
    /// </summary>
    public CompletedTxn? CompleteTxn(long producerId, short epoch, int coordinatorEpoch, long markerOffset, bool isAbort, long timestampMs)
    {
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            entry = new ProducerStateEntry(producerId, epoch);
            _producers.Add(producerId, entry);
        }

        CompletedTxn? completed = null;
        if (entry.HasOngoingTxn)
        {
            completed = new CompletedTxn(producerId, entry.CurrentTxnFirstOffset, markerOffset, isAbort);
            _ongoing.Remove((entry.CurrentTxnFirstOffset, producerId));
            entry.CurrentTxnFirstOffset = -1;
        }

        if (epoch != entry.Epoch)
        {
            entry.Batches.Clear();
            entry.Epoch = epoch;
        }

        entry.CoordinatorEpoch = coordinatorEpoch;
        entry.LastTimestampMs = Math.Max(entry.LastTimestampMs, timestampMs);
        return completed;
    }

    /// <summary>Forgets producers idle for <paramref name="expirationMs"/> (<c>producer.id.expiration.ms</c>;
    /// Kafka's <c>removeExpiredProducers</c>). Returns how many were removed.</summary>
    public int ExpireProducers(long nowMs, long expirationMs)
    {
        // ProducerStateManager.isProducerExpired: an open transaction (2PC included) never expires.
        var expired = _producers.Values.Where(e => !e.HasOngoingTxn && nowMs - e.LastTimestampMs >= expirationMs)
            .Select(e => e.ProducerId).ToList();
        foreach (var id in expired)
        {
            _producers.Remove(id);
        }

        return expired.Count;
    }

    /// <summary>
    /// Writes a snapshot of the state as of <paramref name="offset"/> (every batch below it is included) into
    /// <paramref name="directory"/>, atomically, and deletes all but the newest <see cref="SnapshotsToKeep"/>.
    /// </summary>
    public void WriteSnapshot(IFileSystem fs, string directory, long offset)
    {
        var snapshot = new ProducerSnapshot();
        foreach (var entry in _producers.Values.OrderBy(e => e.ProducerId))
        {
            foreach (var batch in entry.Batches)
            {
                snapshot.ProducerEntries.Add(new ProducerSnapshot.ProducerEntry
                {
                    ProducerId = entry.ProducerId,
                    Epoch = entry.Epoch,
                    LastSequence = batch.LastSeq,
                    LastOffset = batch.LastOffset,
                    OffsetDelta = checked((int)(batch.LastOffset - batch.FirstOffset)),
                    Timestamp = batch.TimestampMs,
                    CoordinatorEpoch = entry.CoordinatorEpoch,
                    CurrentTxnFirstOffset = entry.CurrentTxnFirstOffset,
                });
            }

            if (entry.Batches.Count == 0)
            {
                // An epoch without batches: after a TV2 marker bumped it, or a marker for an unknown producer.
                snapshot.ProducerEntries.Add(new ProducerSnapshot.ProducerEntry
                {
                    ProducerId = entry.ProducerId,
                    Epoch = entry.Epoch,
                    LastSequence = RecordBatchHeader.NoSequence,
                    LastOffset = -1,
                    Timestamp = entry.LastTimestampMs,
                    CoordinatorEpoch = entry.CoordinatorEpoch,
                    CurrentTxnFirstOffset = entry.CurrentTxnFirstOffset,
                });
            }
        }

        using var buffer = new PooledBufferWriter(256);
        var writer = new KafkaWriter(buffer);
        writer.WriteInt16(SnapshotVersion);
        snapshot.Write(ref writer, SnapshotVersion);
        writer.Flush();
        var bytes = buffer.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(2), Crc32C.Compute(bytes.AsSpan(SnapshotCrcEnd)));
        AtomicFile.Write(fs, Path.Combine(directory, FileName(offset)), bytes);

        foreach (var old in ListSnapshots(fs, directory).SkipLast(SnapshotsToKeep))
        {
            fs.DeleteFile(old.Path);
        }
    }

    /// <summary>
    /// Loads the newest valid snapshot at or below <paramref name="logEndOffset"/> and returns its offset (0 when
    /// none), deleting snapshots above the log end (a crash lost the data they describe). A corrupt snapshot is
    /// skipped in favour of an older one.
    /// </summary>
    public long LoadSnapshot(IFileSystem fs, string directory, long logEndOffset)
    {
        Clear();
        var snapshots = ListSnapshots(fs, directory);
        foreach (var stale in snapshots.Where(s => s.Offset > logEndOffset))
        {
            fs.DeleteFile(stale.Path);
        }

        foreach (var (offset, path) in snapshots.Where(s => s.Offset <= logEndOffset).Reverse())
        {
            var bytes = AtomicFile.TryRead(fs, path);
            if (bytes is not null && TryDecode(bytes, out var snapshot))
            {
                foreach (var e in snapshot.ProducerEntries)
                {
                    // Inverse of RecordBatchHeader.LastSequence: sequences wrap from int.MaxValue to 0.
                    var first = e.LastSequence - e.OffsetDelta;
                    if (e.LastSequence != RecordBatchHeader.NoSequence && first < 0)
                    {
                        first = first + int.MaxValue + 1;
                    }

                    var entry = Apply(e.ProducerId, e.Epoch, e.LastOffset < 0
                        ? null
                        : new BatchMetadata(first, e.LastSequence, e.LastOffset - e.OffsetDelta, e.LastOffset, e.Timestamp),
                        e.Timestamp);
                    if (entry is not null)
                    {
                        entry.CoordinatorEpoch = e.CoordinatorEpoch;
                        if (e.CurrentTxnFirstOffset >= 0 && !entry.HasOngoingTxn)
                        {
                            entry.CurrentTxnFirstOffset = e.CurrentTxnFirstOffset;
                            _ongoing.Add((e.CurrentTxnFirstOffset, e.ProducerId));
                        }
                    }
                }

                return offset;
            }

            Clear();
        }

        return 0;
    }

    /// <summary>Snapshot file name for <paramref name="offset"/>.</summary>
    public static string FileName(long offset) => offset.ToString("D20", CultureInfo.InvariantCulture) + SnapshotSuffix;

    private static List<(long Offset, string Path)> ListSnapshots(IFileSystem fs, string directory)
    {
        var result = new List<(long, string)>();
        if (!fs.DirectoryExists(directory))
        {
            return result;
        }

        foreach (var file in fs.ListFiles(directory))
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(SnapshotSuffix, StringComparison.Ordinal)
                && long.TryParse(name.AsSpan(0, name.Length - SnapshotSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                result.Add((offset, Path.Combine(directory, name)));
            }
        }

        result.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return result;
    }

    private static bool TryDecode(byte[] bytes, out ProducerSnapshot snapshot)
    {
        snapshot = null!;
        if (bytes.Length < SnapshotCrcEnd
            || BinaryPrimitives.ReadInt16BigEndian(bytes) != SnapshotVersion
            || BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(2)) != Crc32C.Compute(bytes.AsSpan(SnapshotCrcEnd)))
        {
            return false;
        }

        try
        {
            var reader = new KafkaReader(bytes.AsMemory(2));
            snapshot = ProducerSnapshot.Read(ref reader, SnapshotVersion);
            reader.ExpectEnd(nameof(ProducerSnapshot));
            return true;
        }
        catch (KafkaProtocolException)
        {
            return false;
        }
    }

    /// <summary>Forgets all state (before loading a snapshot or replaying the whole log).</summary>
    public void Clear()
    {
        _producers.Clear();
        _ongoing.Clear();
    }

    private ProducerStateEntry? Apply(long producerId, short epoch, BatchMetadata batch) => Apply(producerId, epoch, batch, batch.TimestampMs);

    private ProducerStateEntry? Apply(long producerId, short epoch, BatchMetadata? batch, long timestampMs)
    {
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            entry = new ProducerStateEntry(producerId, epoch);
            _producers.Add(producerId, entry);
        }
        else if (epoch < entry.Epoch)
        {
            return null;
        }
        else if (epoch > entry.Epoch)
        {
            entry.Epoch = epoch;
            entry.Batches.Clear();
        }

        if (batch is { } b)
        {
            entry.Batches.Add(b);
            if (entry.Batches.Count > BatchesToRetain)
            {
                entry.Batches.RemoveAt(0);
            }
        }

        entry.LastTimestampMs = Math.Max(entry.LastTimestampMs, timestampMs);
        return entry;
    }

    private static int NextSequence(int lastSeq) => lastSeq == int.MaxValue ? 0 : lastSeq + 1;

    /// <summary>Kafka's <c>ProducerAppendInfo.inSequence</c>: the next sequence, wrapping after int.MaxValue.</summary>
    private static bool InSequence(int lastSeq, int nextSeq) => nextSeq == NextSequence(lastSeq);
}
