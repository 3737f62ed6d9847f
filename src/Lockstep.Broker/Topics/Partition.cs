using System;
using System.Buffers;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using System.Collections.Generic;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Partitions;
using Lockstep.Protocol;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;
using Lockstep.Storage;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker.Topics;

/// <summary>The outcome of <see cref="Partition.Append"/>: what the produce response reports for one partition.</summary>
/// <param name="Error">None, or why nothing was appended.</param>
/// <param name="Message">A human-readable reason for <paramref name="Error"/>.</param>
/// <param name="BaseOffset">Offset of the batch's first record (of the original batch for a duplicate).</param>
/// <param name="LastOffset">Offset of the batch's last record.</param>
/// <param name="LogAppendTimeMs">Broker time written into the batch, or -1 (CreateTime topics and duplicates).</param>
/// <param name="LogStartOffset">The log start offset after the append.</param>
/// <param name="Duplicate">The batch was a retry of an already appended one; nothing new was written.</param>
/// <param name="CoordinatorDurable">
/// For a verified transactional batch: completes when the coordinator's own state change (a TV2 implicit add) is
/// durable; the produce response waits for it as well as for the batch. Null otherwise.
/// </param>
internal readonly record struct PartitionAppendResult(
    ErrorCode Error, string? Message, long BaseOffset, long LastOffset, long LogAppendTimeMs, long LogStartOffset, bool Duplicate,
    Task? CoordinatorDurable = null)
{
    /// <summary>A failed append.</summary>
    public static PartitionAppendResult Failed(ErrorCode error, string? message) => new(error, message, -1, -1, -1, -1, false);
}

/// <summary>A producer's state on one partition, as DescribeProducers reports it.</summary>
/// <param name="ProducerId">The producer id.</param>
/// <param name="ProducerEpoch">Its current epoch.</param>
/// <param name="LastSequence">Last sequence appended, -1 when none is cached.</param>
/// <param name="LastTimestamp">Time of its last batch or marker.</param>
/// <param name="CoordinatorEpoch">Coordinator epoch of its last marker, -1 before any.</param>
/// <param name="CurrentTxnStartOffset">First offset of its open transaction, -1 when none.</param>
internal readonly record struct ActiveProducer(
    long ProducerId, short ProducerEpoch, int LastSequence, long LastTimestamp, int CoordinatorEpoch, long CurrentTxnStartOffset);

/// <summary>
/// One topic-partition hosted by this broker (always its leader): the log, plus the partition-level state the
/// produce and fetch paths need — producer state (idempotence and transactions), the last stable offset, the
/// aborted-transaction index, and the append signal that wakes long-polling fetches.
/// </summary>
/// <remarks>
/// <para><b>Locks.</b> <c>_appendLock</c> serializes producer-state validation with the log append (PartitionLog's
/// own lock covers only the append; its remarks ask the caller to make validate-then-append atomic). It also guards
/// <see cref="ProducerStateManager"/> and the snapshot files. <c>_signalLock</c> guards the append signal.</para>
/// <para><b>Waking fetches.</b> A fetch reads up to the high watermark, which in fsync mode moves only after the
/// flusher synced the data. So every append attaches a continuation to the durability of its last offset that
/// completes the current signal; fetches waiting in <see cref="WaitForChangeAsync"/> re-read then. No polling.</para>
/// <para><b>Transactions</b> (kip939-spec.md §8). A transactional batch whose producer has no open transaction
/// here with the same epoch is verified with the coordinator (<see cref="ITransactionVerifier"/>) synchronously,
/// <em>inside</em> <c>_appendLock</c>, immediately followed by the append. Markers (<see cref="WriteTxnMarkerAsync"/>)
/// take the same lock, so no marker can slip between a verification and its append: the stale-verification ABA of
/// §8.3 (verify → abort marker → new transaction → append on the old verification) cannot happen, which is what
/// Kafka's VerificationGuard protects against across threads. A batch verified just before the coordinator moved
/// the transaction to PrepareCommit/PrepareAbort is appended before that transaction's marker (the marker waits
/// for the lock), so it belongs to the transaction being completed — as in Kafka. Lock order:
/// <c>_appendLock</c> → coordinator lock; the coordinator therefore must never call into a partition while
/// holding the lock its <see cref="ITransactionVerifier.Verify"/> takes. Without a verifier (no coordinator
/// registered) a transactional batch that needs verification fails with INVALID_TXN_STATE, what the guard
/// answers for a batch no coordinator vouched for; batches of transactions recovered from disk still append.</para>
/// <para><b>Last stable offset</b> (§8.5). The first unstable offset is the first offset of the earliest open
/// transaction or of a completed one whose marker is not durable yet (Kafka's "not yet replicated" part: on one
/// node, durable = replicated). It is published to <see cref="PartitionLog.SetFirstUnstableOffset"/> <em>before</em>
/// a transaction's first batch is appended and raised only after a marker is durable, so read_committed readers
/// never see open data; readers are woken when it moves.</para>
/// </remarks>
internal sealed partial class Partition : IDisposable
{
    /// <summary>The leader epoch advertised in Metadata and record batches. A single node never changes leader,
    /// so it stays 0 (client-compat.md trap 8: epochs are exposed, so OffsetForLeaderEpoch is served).</summary>
    public const int LeaderEpoch = 0;

    private readonly Lock _appendLock = new();
    private readonly Lock _signalLock = new();
    private readonly ProducerStateManager _producers = new();
    private readonly ILogger _logger;

    // Guarded by _appendLock. Completed transactions whose marker is not durable yet, by (first, marker) offset.
    private readonly List<(long FirstOffset, long MarkerOffset)> _undurableTxns = [];

    // Guarded by _appendLock.
    private int _segmentCount;
    private bool _disposed;
    private int _undurableCount; // _undurableTxns.Count, readable without the lock.

    // Guarded by _signalLock: completed (and replaced) when readable data may have grown.
    private TaskCompletionSource _appendSignal = NewSignal();
    private bool _signalObserved;

    /// <summary>Wraps an opened log and restores its producer state (snapshot plus replay of the log tail).</summary>
    public Partition(BrokerCore core, TopicPartition id, Guid topicId, PartitionLog log)
    {
        Core = core;
        Id = id;
        TopicId = topicId;
        Log = log;
        _logger = core.LoggerFactory.CreateLogger<Partition>();
        LoadProducerState();
        _segmentCount = log.SegmentCount;
    }

    /// <summary>Broker services.</summary>
    public BrokerCore Core { get; }

    /// <summary>Topic and partition index.</summary>
    public TopicPartition Id { get; }

    /// <summary>The topic's id.</summary>
    public Guid TopicId { get; }

    /// <summary>The partition's durable log.</summary>
    public PartitionLog Log { get; }

    /// <summary>
    /// Validates <paramref name="batch"/> against the producer state (verifying a transactional batch with the
    /// coordinator first when needed) and appends it, atomically with respect to other appends and markers of this
    /// partition. Returns once the bytes are written to the OS; the caller waits for
    /// <see cref="PartitionLog.WaitForDurableAsync"/> (and <see cref="PartitionAppendResult.CoordinatorDurable"/>)
    /// before acknowledging acks=1/all. The batch is copied, so the caller's memory is neither modified nor retained.
    /// </summary>
    /// <param name="batch">Exactly one magic-2 batch whose CRC and records the caller validated.</param>
    /// <param name="header">The batch's parsed header.</param>
    /// <param name="useLogAppendTime">The topic uses <c>message.timestamp.type=LogAppendTime</c>.</param>
    /// <param name="transactionalId">The produce request's TransactionalId (required for transactional batches).</param>
    /// <param name="produceVersion">The produce request version: v12+ asks the coordinator to add the partition
    /// (TV2) instead of only verifying it, and selects the error translation (§8.3).</param>
    public PartitionAppendResult Append(ReadOnlySpan<byte> batch, in RecordBatchHeader header, bool useLogAppendTime,
        string? transactionalId = null, short produceVersion = TransactionErrors.LastProduceVersionBeforeTransactionsV2)
    {
        PartitionAppendResult result;
        lock (_appendLock)
        {
            if (_disposed)
            {
                return PartitionAppendResult.Failed(ErrorCode.NotLeaderOrFollower, $"{Id} is closed.");
            }

            var verified = false;
            Task? coordinatorDurable = null;
            var transactionsV2 = produceVersion > TransactionErrors.LastProduceVersionBeforeTransactionsV2;
            if (header.IsTransactional && !_producers.HasOngoingTransaction(header.ProducerId, header.ProducerEpoch))
            {
                var verification = Verify(header, transactionalId, transactionsV2);
                if (verification.Error != ErrorCode.None)
                {
                    var error = TransactionErrors.ForProduce(verification.Error, produceVersion);
                    return PartitionAppendResult.Failed(error, error == ErrorCode.InvalidTxnState
                        ? $"Partition {Id} was not added to the transaction ({verification.Error})."
                        : $"Unable to verify that {Id} was added to the transaction: {verification.Error}.");
                }

                verified = true;
                coordinatorDurable = verification.Durable is { IsCompletedSuccessfully: false } pending ? pending : null;
            }

            var check = _producers.Check(header, verified, transactionsV2);
            if (check.Error != ErrorCode.None)
            {
                return PartitionAppendResult.Failed(check.Error, check.Message);
            }

            if (check.Duplicate is { } duplicate)
            {
                // Kafka answers a duplicate with the original offsets and no log-append time
                // (UnifiedLog.append → LogAppendInfo for a duplicate batch).
                return new PartitionAppendResult(ErrorCode.None, null, duplicate.FirstOffset, duplicate.LastOffset, -1,
                    Log.LogStartOffset, Duplicate: true, coordinatorDurable);
            }

            var opensTransaction = header.IsTransactional
                && !(_producers.TryGet(header.ProducerId, out var entry) && entry.HasOngoingTxn);
            if (opensTransaction)
            {
                // Pin the LSO before the batch exists: the flusher may make it durable (and move the HW past it)
                // before this method returns.
                Log.SetFirstUnstableOffset(Math.Min(Log.FirstUnstableOffset, Log.LogEndOffset));
            }

            var copy = ArrayPool<byte>.Shared.Rent(batch.Length);
            try
            {
                batch.CopyTo(copy);
                // Kafka stamps the leader epoch into every appended batch (outside the CRC); clients use it for
                // OffsetForLeaderEpoch validation.
                RecordBatchHeader.SetPartitionLeaderEpoch(copy, LeaderEpoch);
                var info = Log.Append(copy.AsSpan(0, batch.Length), useLogAppendTime);
                var nowMs = Core.Time.GetUtcNow().ToUnixTimeMilliseconds();
                _producers.OnAppended(header with { BaseOffset = info.BaseOffset }, nowMs);
                result = new PartitionAppendResult(ErrorCode.None, null, info.BaseOffset, info.LastOffset,
                    info.LogAppendTimeMs, info.LogStartOffset, Duplicate: false, coordinatorDurable);
            }
            catch (RecordBatchTooLargeException e)
            {
                return PartitionAppendResult.Failed(ErrorCode.RecordListTooLarge, e.Message);
            }
            catch (IOException e)
            {
                LogAppendFailed(e, Id);
                return PartitionAppendResult.Failed(ErrorCode.KafkaStorageError, e.Message);
            }
            catch (ObjectDisposedException)
            {
                return PartitionAppendResult.Failed(ErrorCode.NotLeaderOrFollower, $"{Id} is closed.");
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(copy);
                if (opensTransaction)
                {
                    PublishFirstUnstableOffset(); // Undo the pin if the append failed.
                }
            }

            MaybeSnapshotAfterRoll(result.LastOffset + 1);
        }

        NotifyWhenDurable(result.LastOffset);
        return result;
    }

    /// <summary>
    /// Appends a COMMIT or ABORT marker for <paramref name="producerId"/> on behalf of the transaction coordinator
    /// (Kafka's WriteTxnMarkers → <c>UnifiedLog.appendAsLeader(origin = COORDINATOR)</c>) and completes when it is
    /// durable. Validation (kip939-spec.md §8.4): TV0/1 marker epoch ≥ the producer's epoch, TV2 marker epoch &gt;
    /// it except the KAFKA-19999 idempotent retry, else INVALID_PRODUCER_EPOCH; an older coordinator epoch is
    /// TRANSACTION_COORDINATOR_FENCED. A marker that completes an open transaction closes it, records an abort in
    /// the transaction index (with the marker, atomically), and lets the LSO advance once the marker is durable;
    /// waiting fetches are woken then. A marker for a producer without an open transaction here is still written
    /// (Kafka does the same; it changes neither the LSO nor the index).
    /// </summary>
    /// <returns>None once durable; otherwise the validation error, KAFKA_STORAGE_ERROR when the write or fsync
    /// failed, NOT_LEADER_OR_FOLLOWER when the partition is closed.</returns>
    public ValueTask<ErrorCode> WriteTxnMarkerAsync(long producerId, short producerEpoch, bool commit, int coordinatorEpoch,
        short transactionVersion, CancellationToken cancellationToken)
    {
        long markerOffset;
        lock (_appendLock)
        {
            if (_disposed)
            {
                return ValueTask.FromResult(ErrorCode.NotLeaderOrFollower);
            }

            var check = _producers.CheckMarker(producerId, producerEpoch, coordinatorEpoch, transactionVersion);
            if (check.Error != ErrorCode.None)
            {
                LogMarkerRejected(Id, producerId, check.Error, check.Message);
                return ValueTask.FromResult(check.Error);
            }

            var nowMs = Core.Time.GetUtcNow().ToUnixTimeMilliseconds();
            using var buffer = new PooledBufferWriter(128);
            ControlBatch.Write(buffer, commit ? ControlRecordType.Commit : ControlRecordType.Abort, producerId,
                producerEpoch, coordinatorEpoch, nowMs, partitionLeaderEpoch: LeaderEpoch);
            var bytes = buffer.ToArray();
            var completion = _producers.PeekCompletion(producerId, Log.LogEndOffset, isAbort: !commit);
            try
            {
                var info = completion is { IsAborted: true } aborted
                    ? Log.AppendAbortMarker(bytes, new AbortedTransaction(producerId, aborted.FirstOffset, aborted.LastOffset,
                        _producers.LastStableOffsetAfter(aborted)))
                    : Log.Append(bytes);
                markerOffset = info.BaseOffset;
            }
            catch (IOException e)
            {
                LogAppendFailed(e, Id);
                return ValueTask.FromResult(ErrorCode.KafkaStorageError);
            }
            catch (ObjectDisposedException)
            {
                return ValueTask.FromResult(ErrorCode.NotLeaderOrFollower);
            }

            if (_producers.CompleteTxn(producerId, producerEpoch, coordinatorEpoch, markerOffset, !commit, nowMs) is { } completed)
            {
                // Still unstable until the marker is durable (§8.5 "completed but not yet replicated").
                _undurableTxns.Add((completed.FirstOffset, markerOffset));
                _undurableCount = _undurableTxns.Count;
            }

            PublishFirstUnstableOffset();
            MaybeSnapshotAfterRoll(markerOffset + 1);
        }

        NotifyWhenDurable(markerOffset);
        return AwaitMarkerAsync(markerOffset, cancellationToken);
    }

    /// <summary>DescribeProducers: every producer with state on this partition, by producer id.</summary>
    public List<ActiveProducer> ActiveProducers()
    {
        lock (_appendLock)
        {
            var result = new List<ActiveProducer>(_producers.Producers.Count);
            foreach (var e in _producers.Producers)
            {
                result.Add(new ActiveProducer(e.ProducerId, e.Epoch, e.LastSeq, e.LastTimestampMs, e.CoordinatorEpoch,
                    e.CurrentTxnFirstOffset));
            }

            result.Sort((a, b) => a.ProducerId.CompareTo(b.ProducerId));
            return result;
        }
    }

    /// <summary>
    /// Open transactions on this partition ordered by first offset — for the coordinator's recovery (a partition
    /// holding an open transaction the coordinator does not know about would pin the LSO forever) and diagnostics.
    /// </summary>
    public List<(long FirstOffset, long ProducerId)> OngoingTransactions()
    {
        lock (_appendLock)
        {
            return [.. _producers.OngoingTransactions];
        }
    }

    /// <summary>
    /// Read_committed fetch support: the aborted transactions overlapping <c>[fetchOffset, upperBound)</c>
    /// (<see cref="PartitionLog.CollectAbortedTransactions"/>).
    /// </summary>
    public List<AbortedTransaction> AbortedTransactions(long fetchOffset, long upperBound) =>
        Log.CollectAbortedTransactions(fetchOffset, upperBound);

    /// <summary>
    /// A task that completes when data may have become readable (an append became durable), the log start moved,
    /// or the partition closed. Take it <em>before</em> reading, then await it: an append in between completes it.
    /// </summary>
    public Task WaitForChangeAsync()
    {
        lock (_signalLock)
        {
            _signalObserved = true;
            return _appendSignal.Task;
        }
    }

    /// <summary>Completes the current append signal (see <see cref="WaitForChangeAsync"/>).</summary>
    public void NotifyReadersOfChange()
    {
        TaskCompletionSource signal;
        lock (_signalLock)
        {
            if (!_signalObserved)
            {
                return; // Nobody waits: skip the allocation on the hot append path.
            }

            signal = _appendSignal;
            _appendSignal = NewSignal();
            _signalObserved = false;
        }

        signal.TrySetResult();
    }

    /// <summary>Forgets idle producers (<c>producer.id.expiration.ms</c>). Returns how many.</summary>
    public int ExpireProducers(long nowMs, long expirationMs)
    {
        lock (_appendLock)
        {
            return _producers.ExpireProducers(nowMs, expirationMs);
        }
    }

    /// <summary>Test and diagnostics hook: the state of one producer (epoch, last sequence), if tracked.</summary>
    public (short Epoch, int LastSequence)? ProducerState(long producerId)
    {
        lock (_appendLock)
        {
            return _producers.TryGet(producerId, out var entry) ? (entry.Epoch, entry.LastSeq) : null;
        }
    }

    /// <summary>Writes a producer-state snapshot at the log end offset (clean shutdown), then closes.</summary>
    public void Dispose()
    {
        lock (_appendLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            TryWriteSnapshot(Log.LogEndOffset);
        }

        lock (_signalLock)
        {
            _signalObserved = true;
        }

        NotifyReadersOfChange();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void NotifyWhenDurable(long lastOffset)
    {
        Task durable;
        try
        {
            durable = Log.WaitForDurableAsync(lastOffset);
        }
        catch (Exception e) when (e is ObjectDisposedException or ArgumentOutOfRangeException)
        {
            NotifyReadersOfChange(); // Closed or truncated under us: wake readers so they see it.
            return;
        }

        if (durable.IsCompleted)
        {
            _ = durable.Exception; // Observed here; the produce path reports the failure to the producer.
            AfterDurable();
            return;
        }

        _ = durable.ContinueWith(static (t, state) =>
        {
            _ = t.Exception;
            ((Partition)state!).AfterDurable();
        }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The high watermark moved: completed transactions whose marker it now covers stop pinning the LSO.</summary>
    private void AfterDurable()
    {
        if (Volatile.Read(ref _undurableCount) > 0)
        {
            lock (_appendLock)
            {
                PublishFirstUnstableOffset();
            }
        }

        NotifyReadersOfChange();
    }

    /// <summary>
    /// Recomputes the first unstable offset (open transactions plus completed ones whose marker is above the high
    /// watermark) and publishes it to the log. Caller holds <c>_appendLock</c>.
    /// </summary>
    private void PublishFirstUnstableOffset()
    {
        var highWatermark = Log.HighWatermark;
        _undurableTxns.RemoveAll(t => t.MarkerOffset < highWatermark);
        _undurableCount = _undurableTxns.Count;
        var first = _producers.FirstOngoingOffset;
        foreach (var (firstOffset, _) in _undurableTxns)
        {
            first = Math.Min(first, firstOffset);
        }

        Log.SetFirstUnstableOffset(first);
    }

    private TransactionVerification Verify(in RecordBatchHeader header, string? transactionalId, bool addPartition)
    {
        if (transactionalId is null)
        {
            // KafkaApis.handleProduceRequest: transactional records need a TransactionalId to authorize.
            return new TransactionVerification(ErrorCode.TransactionalIdAuthorizationFailed, Task.CompletedTask);
        }

        if (Core.TransactionVerifier is not { } verifier)
        {
            // No coordinator registered: nobody can vouch for the batch, which is exactly the guard's
            // "not part of an ongoing transaction" case.
            return new TransactionVerification(ErrorCode.InvalidTxnState, Task.CompletedTask);
        }

        return verifier.Verify(transactionalId, header.ProducerId, header.ProducerEpoch, Id, addPartition);
    }

    private async ValueTask<ErrorCode> AwaitMarkerAsync(long markerOffset, CancellationToken cancellationToken)
    {
        try
        {
            await Log.WaitForDurableAsync(markerOffset, cancellationToken).ConfigureAwait(false);

            // The durability continuation registered in NotifyWhenDurable may not have run yet: publish the LSO now,
            // so that when the coordinator sees this marker complete, read_committed readers already see it.
            AfterDurable();
            return ErrorCode.None;
        }
        catch (IOException e)
        {
            LogAppendFailed(e, Id);
            return ErrorCode.KafkaStorageError;
        }
        catch (ObjectDisposedException)
        {
            return ErrorCode.NotLeaderOrFollower;
        }
        catch (ArgumentOutOfRangeException)
        {
            return ErrorCode.KafkaStorageError; // Truncated under us (repair tools only): the marker is gone.
        }
    }

    /// <summary>
    /// Kafka takes a producer snapshot at every segment roll (<c>UnifiedLog.roll</c>) so that recovery replays at
    /// most one segment. PartitionLog rolls inside <c>Append</c>, so a grown segment count after an append means a
    /// roll happened; the snapshot is taken at the new log end (it includes the batch just appended).
    /// </summary>
    private void MaybeSnapshotAfterRoll(long logEndOffset)
    {
        var count = Log.SegmentCount;
        if (count > _segmentCount)
        {
            TryWriteSnapshot(logEndOffset);
        }

        _segmentCount = count;
    }

    private void TryWriteSnapshot(long offset)
    {
        try
        {
            _producers.WriteSnapshot(Core.FileSystem, Log.Directory, offset);
        }
        catch (IOException e)
        {
            // Not fatal: recovery replays the log from an older snapshot (or the log start) instead.
            LogSnapshotFailed(e, Id);
        }
    }

    /// <summary>
    /// Restores producer state: the newest snapshot, then the log after it replayed (batches open transactions,
    /// markers close them). An ABORT marker whose transaction-index entry is missing — a crash between the two, or
    /// a lost <c>.txnindex</c> — gets it back; when a segment lost its <c>.txnindex</c> file the whole log is
    /// replayed, ignoring snapshots, since the entries of any segment may be gone (Kafka's
    /// <c>LogLoader</c>/<c>LogSegment.recover</c> rebuild the index the same way, with the producer state). Ends by
    /// publishing the first unstable offset, so the LSO is right from the first fetch after a crash.
    /// </summary>
    private void LoadProducerState()
    {
        long snapshotOffset;
        if (Log.TransactionIndexRebuildNeeded)
        {
            _producers.Clear();
            snapshotOffset = 0;
        }
        else
        {
            snapshotOffset = _producers.LoadSnapshot(Core.FileSystem, Log.Directory, Log.LogEndOffset);
        }

        var offset = Math.Max(snapshotOffset, Log.LogStartOffset);
        var end = Log.LogEndOffset;
        var replayed = 0;
        var rebuilt = 0;
        while (offset < end)
        {
            using var read = Log.Read(offset, 1 << 20, end);
            var records = read.Records.Span;
            if (records.IsEmpty)
            {
                break; // Defensive: recovery left HW = LEO, so this only happens on a log changed under us.
            }

            while (records.Length >= RecordBatchHeader.Size)
            {
                var header = RecordBatchHeader.Read(records);
                var size = Math.Min(header.TotalSize, records.Length);
                if (header.LastOffset >= offset)
                {
                    if (header.IsControl)
                    {
                        rebuilt += ReplayMarker(header, records[..size]) ? 1 : 0;
                    }
                    else
                    {
                        // Replayed batches carry their max timestamp as "last seen", as Kafka's loadProducersFromRecords.
                        _producers.OnAppended(header, header.MaxTimestamp);
                    }

                    replayed++;
                }

                offset = Math.Max(offset, header.LastOffset + 1);
                records = records[size..];
            }
        }

        PublishFirstUnstableOffset();
        if (replayed > 0 || snapshotOffset > 0)
        {
            LogProducerStateLoaded(Id, snapshotOffset, replayed, rebuilt);
        }
    }

    /// <summary>Replays one control batch; returns whether a missing transaction-index entry was re-added.</summary>
    private bool ReplayMarker(in RecordBatchHeader header, ReadOnlySpan<byte> batch)
    {
        ControlRecordKey key;
        EndTxnMarker marker;
        try
        {
            key = ControlBatch.ReadMarker(batch, out marker);
        }
        catch (KafkaProtocolException e)
        {
            // Not a COMMIT/ABORT marker (KRaft control types never appear in a data partition). Recovery checked
            // the CRC, so this is a writer bug; skip it rather than refuse to open the partition.
            LogUnreadableMarker(e, Id, header.BaseOffset);
            return false;
        }

        var isAbort = key.Type == ControlRecordType.Abort;
        var added = false;
        if (isAbort && _producers.PeekCompletion(header.ProducerId, header.BaseOffset, isAbort) is { } aborted)
        {
            added = Log.EnsureAbortedTransaction(new AbortedTransaction(header.ProducerId, aborted.FirstOffset,
                aborted.LastOffset, _producers.LastStableOffsetAfter(aborted)));
        }

        _producers.CompleteTxn(header.ProducerId, header.ProducerEpoch, marker.CoordinatorEpoch, header.BaseOffset,
            isAbort, header.MaxTimestamp);
        return added;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "append to {Partition} failed")]
    private partial void LogAppendFailed(Exception e, TopicPartition partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not write the producer-state snapshot of {Partition}")]
    private partial void LogSnapshotFailed(Exception e, TopicPartition partition);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Partition}: producer state from snapshot at {SnapshotOffset} plus {Replayed} replayed batch(es); {Rebuilt} aborted-transaction index entries rebuilt")]
    private partial void LogProducerStateLoaded(TopicPartition partition, long snapshotOffset, int replayed, int rebuilt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Partition}: control batch at {Offset} is not a transaction marker; skipped")]
    private partial void LogUnreadableMarker(Exception e, TopicPartition partition, long offset);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Partition}: marker for producer {ProducerId} rejected with {Error}: {Reason}")]
    private partial void LogMarkerRejected(TopicPartition partition, long producerId, ErrorCode error, string? reason);
}
