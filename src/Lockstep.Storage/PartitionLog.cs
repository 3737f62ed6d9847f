using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Protocol.Records;
using Lockstep.Storage.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.Storage;

/// <summary>
/// The durable, append-only log of one topic-partition: a directory of segments named after their base offsets
/// (Kafka's <c>UnifiedLog</c>/<c>LocalLog</c>). Batches are stored exactly as received, with only BaseOffset (and,
/// for log-append time, MaxTimestamp, attributes and CRC) rewritten.
/// </summary>
/// <remarks>
/// <para><b>Invariants.</b> <see cref="LogStartOffset"/> ≤ <see cref="HighWatermark"/> ≤
/// <see cref="LogEndOffset"/>; offsets are contiguous across batches and segments; only the last segment is ever
/// written; the high watermark never decreases except through <see cref="TruncateTo"/>.
/// With <see cref="Durability.Fsync"/> the high watermark is the durable end: it moves only after
/// <see cref="LogFlusher"/> fsynced the data, so a consumer never sees data that a power loss could take back.
/// With <see cref="Durability.OsFlush"/> it equals the log end offset.</para>
/// <para><b>Threading.</b> Appends, truncation, retention and DeleteRecords are serialized by one lock
/// (<c>_lock</c>); fsyncs are serialized by <c>_flushLock</c> and run outside <c>_lock</c>, so appends continue while
/// the disk syncs (that is what lets group commit batch them). Reads take no lock: they use the published segment
/// array and offsets, and only touch bytes below a segment's published size, which never change.</para>
/// <para><b>Transactions (extension point).</b> <see cref="LastStableOffset"/> is the high watermark today. When
/// transactions land it becomes <c>min(first unstable offset, HW)</c> (kip939-spec.md §8.5), the producer state
/// manager will observe each append, and segments gain a <c>.txnindex</c> (§8.6; the suffix is reserved in
/// <c>LogFileNames</c>). A caller that validates producer state before appending must serialize its
/// validate-then-append pair itself; <see cref="Append"/> is atomic only on its own.</para>
/// <para><b>Failure.</b> After an fsync or an unrecoverable write failure the log goes offline: every later append
/// throws <see cref="IOException"/> and pending acknowledgements fail. Reopening runs recovery (Kafka marks the log
/// directory offline the same way rather than retrying an fsync).</para>
/// </remarks>
public sealed class PartitionLog : IDisposable
{
    /// <summary>ListOffsets special timestamp: the log start offset.</summary>
    public const long EarliestTimestamp = -2;

    /// <summary>ListOffsets special timestamp: the high watermark (the end a consumer can read to).</summary>
    public const long LatestTimestamp = -1;

    /// <summary>DeleteRecords special offset meaning "up to the high watermark" (DeleteRecordsRequest).</summary>
    public const long HighWatermarkOffset = -1;

    private readonly IFileSystem _fs;
    private readonly TimeProvider _time;
    private readonly LogFlusher? _flusher;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Lock _flushLock = new();

    // Guarded by _lock.
    private readonly HashSet<LogSegment> _unflushedSegments = [];
    private readonly List<(long Offset, TaskCompletionSource Waiter)> _waiters = [];
    private LogConfig _config;
    private bool _directoryDirty;
    private Exception? _failure;
    private bool _disposed;

    // Published: written under _lock (HW also under _flushLock) with volatile semantics, read lock-free.
    private volatile LogSegment[] _segments;
    private long _logStartOffset;
    private long _logEndOffset;
    private long _highWatermark;
    private long _firstUnstableOffset = long.MaxValue;

    private PartitionLog(IFileSystem fs, string directory, TopicPartition topicPartition, LogConfig config,
        TimeProvider time, LogFlusher? flusher, ILogger logger)
    {
        _fs = fs;
        _time = time;
        _flusher = flusher;
        _logger = logger;
        _config = config;
        _segments = [];
        Directory = directory;
        TopicPartition = topicPartition;
    }

    /// <summary>The partition this log stores.</summary>
    public TopicPartition TopicPartition { get; }

    /// <summary>The partition's directory.</summary>
    public string Directory { get; }

    /// <summary>The current settings; replace them with <see cref="UpdateConfig"/>.</summary>
    public LogConfig Config
    {
        get
        {
            lock (_lock)
            {
                return _config;
            }
        }
    }

    /// <summary>First offset a consumer may fetch; advanced by DeleteRecords and retention, never lowered.</summary>
    public long LogStartOffset => Volatile.Read(ref _logStartOffset);

    /// <summary>Offset the next appended record gets; everything below it has been written to the OS.</summary>
    public long LogEndOffset => Volatile.Read(ref _logEndOffset);

    /// <summary>
    /// End of the data consumers may read: the durable end in <see cref="Durability.Fsync"/> mode (single node, so
    /// no replication), the log end offset in <see cref="Durability.OsFlush"/> mode.
    /// </summary>
    public long HighWatermark => Volatile.Read(ref _highWatermark);

    /// <summary>
    /// Read-committed limit (kip939-spec.md §8.5): <c>min(first unstable offset, HW)</c>, where the first unstable
    /// offset is what the owner last passed to <see cref="SetFirstUnstableOffset"/>.
    /// </summary>
    /// <remarks>
    /// Lock-free and safe in either read order: the owner lowers the first unstable offset <em>before</em> a
    /// transaction's first batch is appended (so before the HW can cover it) and raises it only after the marker
    /// is durable, so a stale value of either input can only make the result smaller, never expose open data.
    /// </remarks>
    public long LastStableOffset => Math.Min(HighWatermark, Volatile.Read(ref _firstUnstableOffset));

    /// <summary>The first unstable offset last published, or <see cref="long.MaxValue"/> when none.</summary>
    public long FirstUnstableOffset => Volatile.Read(ref _firstUnstableOffset);

    /// <summary>
    /// Whether recovery found a segment without its <c>.txnindex</c> file: the owner must rebuild the aborted
    /// transactions by replaying the log from its start (<see cref="EnsureAbortedTransaction"/>).
    /// </summary>
    public bool TransactionIndexRebuildNeeded { get; private set; }

    /// <summary>Total bytes in all segment files (what <c>retention.bytes</c> limits).</summary>
    public long SizeInBytes => _segments.Sum(s => s.Size);

    /// <summary>Number of segments, including the active one.</summary>
    public int SegmentCount => _segments.Length;

    /// <summary>
    /// Opens (recovering) or creates the log in <paramref name="directory"/>. Recovery checks every batch's header
    /// and CRC-32C, truncates at the first torn or corrupt batch (deleting later segments), rebuilds index files
    /// that do not match, restores the log start offset from its checkpoint and fsyncs what it keeps, so that the
    /// high watermark starts at the log end offset.
    /// </summary>
    /// <param name="fs">The file system.</param>
    /// <param name="directory">The partition directory; created when missing.</param>
    /// <param name="topicPartition">The partition, for logs and diagnostics.</param>
    /// <param name="config">Settings; validated.</param>
    /// <param name="time">The clock for log-append time, <c>segment.ms</c> and <c>retention.ms</c>.</param>
    /// <param name="flusher">The group-commit flusher; required for <see cref="Durability.Fsync"/>.</param>
    /// <param name="logger">Receives recovery warnings; optional.</param>
    public static PartitionLog Open(IFileSystem fs, string directory, TopicPartition topicPartition, LogConfig config,
        TimeProvider time, LogFlusher? flusher = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(fs);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(time);
        config.Validate();
        if (config.Durability == Durability.Fsync && flusher is null)
        {
            throw new ArgumentException("Durability.Fsync needs a LogFlusher.", nameof(flusher));
        }

        var log = new PartitionLog(fs, directory, topicPartition, config, time, flusher,
            logger ?? NullLogger.Instance);
        log.Recover();
        return log;
    }

    /// <summary>
    /// Validates one magic-2 record batch, assigns its offsets and writes it to the active segment (rolling first
    /// when <c>segment.bytes</c> or <c>segment.ms</c> says so). Returns once the bytes are written to the OS; await
    /// <see cref="WaitForDurableAsync"/> (or use <see cref="AppendAndWaitAsync"/>) before acknowledging acks=1/all.
    /// </summary>
    /// <param name="batch">
    /// Exactly one batch (produce v3+ carries one per partition). Modified in place: BaseOffset is set, which the
    /// CRC does not cover. With <paramref name="useLogAppendTime"/> the timestamp-type attribute bit and MaxTimestamp
    /// are rewritten too; both are inside the CRC, so the CRC is recomputed (Kafka's
    /// <c>DefaultRecordBatch.setMaxTimestamp</c>).
    /// </param>
    /// <param name="useLogAppendTime">The topic uses <c>message.timestamp.type=LogAppendTime</c>.</param>
    /// <exception cref="KafkaProtocolException">
    /// The bytes are not exactly one valid batch, or the CRC does not match.
    /// </exception>
    /// <exception cref="RecordBatchTooLargeException">The batch is larger than <c>segment.bytes</c>.</exception>
    /// <exception cref="IOException">The write failed (nothing was appended) or the log is offline.</exception>
    public LogAppendInfo Append(Span<byte> batch, bool useLogAppendTime = false) => AppendCore(batch, useLogAppendTime, null);

    /// <summary>
    /// <see cref="Append"/> for an ABORT marker: <paramref name="abortedTransaction"/> is written to
    /// the transaction index of the segment that receives the batch, under the same lock, so a flush that makes the
    /// marker durable makes the entry durable too. Its <see cref="AbortedTransaction.LastOffset"/> must be the offset
    /// the batch gets, i.e. <see cref="LogEndOffset"/> (the caller serializes appends, so it knows it).
    /// </summary>
    /// <exception cref="ArgumentException">The entry's last offset is not the offset the batch would get.</exception>
    public LogAppendInfo AppendAbortMarker(Span<byte> batch, AbortedTransaction abortedTransaction) =>
        AppendCore(batch, useLogAppendTime: false, abortedTransaction);

    private LogAppendInfo AppendCore(Span<byte> batch, bool useLogAppendTime, AbortedTransaction? abortedTransaction)
    {
        var header = ValidateBatch(batch);
        LogAppendInfo info;
        lock (_lock)
        {
            ThrowIfUnusable();
            if (batch.Length > _config.SegmentBytes)
            {
                throw new RecordBatchTooLargeException(
                    $"Batch of {batch.Length} bytes exceeds segment.bytes={_config.SegmentBytes} of {TopicPartition}.");
            }

            var baseOffset = _logEndOffset;
            if (abortedTransaction is { } expected && (expected.LastOffset != baseOffset + header.LastOffsetDelta
                                                       || expected.FirstOffset > expected.LastOffset))
            {
                throw new ArgumentException(
                    $"Aborted transaction {expected} does not end at the marker offset {baseOffset}.", nameof(abortedTransaction));
            }

            RecordBatchHeader.SetBaseOffset(batch, baseOffset);
            var logAppendTimeMs = -1L;
            if (useLogAppendTime)
            {
                logAppendTimeMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
                SetLogAppendTime(batch, logAppendTimeMs);
            }

            header = header with
            {
                BaseOffset = baseOffset,
                MaxTimestamp = useLogAppendTime ? logAppendTimeMs : header.MaxTimestamp,
            };

            var segment = MaybeRoll(header);
            try
            {
                segment.Append(batch, header);
            }
            catch (IOException ex)
            {
                HandleFailedWrite(segment, ex);
                throw;
            }

            _unflushedSegments.Add(segment);
            Invariant.Assert(segment.NextOffset == header.LastOffset + 1, "the segment ends where the batch ends");
            if (abortedTransaction is { } aborted)
            {
                // An index write failure after a successful marker write is not "nothing appended": the marker is
                // in the log, so the partition goes offline and recovery rebuilds the entry from the log.
                try
                {
                    segment.AppendAbortedTransaction(aborted);
                }
                catch (IOException ex)
                {
                    _failure ??= ex;
                    throw;
                }
            }

            Volatile.Write(ref _logEndOffset, header.LastOffset + 1);
            if (_config.Durability == Durability.OsFlush)
            {
                Volatile.Write(ref _highWatermark, _logEndOffset);
            }

            info = new LogAppendInfo(baseOffset, header.LastOffset, logAppendTimeMs, _logStartOffset);
        }

        if (_config.Durability == Durability.Fsync)
        {
            // Every append must reach the flusher, not only acks=1/all ones: the high watermark moves only on fsync.
            _flusher!.Schedule(this);
        }

        return info;
    }

    /// <summary>
    /// Publishes the first unstable offset (see <see cref="LastStableOffset"/>); <see cref="long.MaxValue"/> when
    /// no transaction is unstable. Called by the owner under its own append serialization.
    /// </summary>
    public void SetFirstUnstableOffset(long offset) => Volatile.Write(ref _firstUnstableOffset, offset);

    /// <summary>
    /// Recovery helper: adds <paramref name="entry"/> to the transaction index of the segment holding its marker
    /// unless it is already there, and fsyncs that index. Used when the owner replays the log on open and finds an
    /// ABORT marker whose entry was lost (a crash between marker and entry, or a missing <c>.txnindex</c>).
    /// Returns whether an entry was added; false too when the marker's segment is gone.
    /// </summary>
    public bool EnsureAbortedTransaction(AbortedTransaction entry)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            var segment = Array.FindLast(_segments, s => s.BaseOffset <= entry.LastOffset);
            if (segment is null || entry.LastOffset >= segment.NextOffset || segment.HasAbortedTransaction(entry.LastOffset))
            {
                return false;
            }

            segment.AppendAbortedTransaction(entry);
            segment.FlushTransactionIndex();
            return true;
        }
    }

    /// <summary>
    /// The aborted transactions a read_committed fetch of <c>[fetchOffset, upperBound)</c> must report (Kafka's
    /// <c>UnifiedLog.collectAbortedTransactions</c>, kip939-spec.md §8.6): every entry with
    /// <c>LastOffset ≥ fetchOffset</c> and <c>FirstOffset &lt; upperBound</c>, scanning the segments from the one
    /// holding <paramref name="fetchOffset"/> and stopping after an entry whose last stable offset reaches
    /// <paramref name="upperBound"/> (no later abort can concern the returned data). Lock-free.
    /// </summary>
    public List<AbortedTransaction> CollectAbortedTransactions(long fetchOffset, long upperBound)
    {
        var result = new List<AbortedTransaction>();
        var segments = _segments;
        var first = Math.Max(0, Array.FindLastIndex(segments, s => s.BaseOffset <= fetchOffset));
        for (var i = first; i < segments.Length; i++)
        {
            foreach (var entry in segments[i].AbortedTransactions)
            {
                if (entry.LastOffset >= fetchOffset && entry.FirstOffset < upperBound)
                {
                    result.Add(entry);
                }

                if (entry.LastStableOffset >= upperBound)
                {
                    return result;
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Completes when every offset up to and including <paramref name="offset"/> is durable (in
    /// <see cref="Durability.OsFlush"/> mode: written). Faults with <see cref="IOException"/> if the fsync fails.
    /// </summary>
    public Task WaitForDurableAsync(long offset, CancellationToken cancellationToken = default)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (offset < HighWatermark)
            {
                return Task.CompletedTask;
            }

            if (_failure is not null)
            {
                return Task.FromException(new IOException($"Log {TopicPartition} is offline.", _failure));
            }

            ObjectDisposedException.ThrowIf(_disposed, this);
            if (offset >= _logEndOffset)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset, "Offset not appended yet.");
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((offset, waiter));
        }

        return waiter.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// <see cref="Append"/> then <see cref="WaitForDurableAsync"/>: the produce path for acks=1/all. The batch
    /// memory is modified as described on <see cref="Append"/>.
    /// </summary>
    public async Task<LogAppendInfo> AppendAndWaitAsync(Memory<byte> batch, bool useLogAppendTime = false,
        CancellationToken cancellationToken = default)
    {
        var info = Append(batch.Span, useLogAppendTime);
        await WaitForDurableAsync(info.LastOffset, cancellationToken).ConfigureAwait(false);
        return info;
    }

    /// <summary>
    /// Reads whole batches starting with the one that holds <paramref name="fromOffset"/>, from one segment, up to
    /// <paramref name="maxBytes"/>; the first batch is returned even when larger (Kafka's <c>minOneMessage</c>, so
    /// a consumer never gets stuck). Only batches that end below <paramref name="maxOffset"/> (exclusive; pass the
    /// high watermark or last stable offset) and below the log end offset are returned.
    /// </summary>
    /// <exception cref="OffsetOutOfRangeException">
    /// <paramref name="fromOffset"/> is below the log start offset or above the log end offset.
    /// </exception>
    public LogReadResult Read(long fromOffset, int maxBytes, long maxOffset)
    {
        for (var attempt = 0; ; attempt++)
        {
            var segments = _segments;
            try
            {
                return ReadFrom(segments, fromOffset, maxBytes, maxOffset);
            }
            catch (ObjectDisposedException) when (attempt == 0 && !ReferenceEquals(segments, _segments))
            {
                // Retention or DeleteRecords closed a segment under us; the retry sees the new start offset.
            }
        }
    }

    /// <summary>
    /// ListOffsets: for <see cref="EarliestTimestamp"/> the log start offset, for <see cref="LatestTimestamp"/>
    /// the high watermark, otherwise the first batch below <paramref name="maxOffset"/> (default: the high
    /// watermark) whose max timestamp is ≥ <paramref name="timestamp"/>. Returns null when no batch qualifies
    /// (the broker then answers offset -1) or for other negative timestamps (e.g. KIP-734's -3, not supported).
    /// </summary>
    /// <remarks>
    /// The answer is the batch's base offset with its max timestamp. Kafka looks inside the batch for the first
    /// record with timestamp ≥ target; storage does not decode (possibly compressed) records, so the offset may be
    /// a few records earlier — a consumer starting there sees at most one batch of older records, never misses one.
    /// </remarks>
    public TimestampOffset? FindOffsetByTimestamp(long timestamp, long? maxOffset = null)
    {
        switch (timestamp)
        {
            case EarliestTimestamp:
                return new TimestampOffset(-1, LogStartOffset);
            case LatestTimestamp:
                return new TimestampOffset(-1, HighWatermark);
            case < 0:
                return null;
        }

        var limit = Math.Min(maxOffset ?? HighWatermark, HighWatermark);
        var start = LogStartOffset;
        foreach (var segment in _segments)
        {
            if (segment.NextOffset <= start || segment.MaxTimestamp < timestamp)
            {
                continue;
            }

            var found = segment.FindByTimestamp(timestamp, limit);
            if (found is { } hit)
            {
                return hit with { Offset = Math.Max(hit.Offset, start) };
            }

            // The batch that qualifies in this segment is at or above the limit, so no later one can be below it.
            return null;
        }

        return null;
    }

    /// <summary>
    /// DeleteRecords: advances the log start offset to <paramref name="offset"/> (or to the high watermark for
    /// <see cref="HighWatermarkOffset"/>), persists it durably in <c>log-start-offset.checkpoint</c> before
    /// returning, and deletes segments that lie wholly below it. Returns the new log start offset.
    /// </summary>
    /// <exception cref="OffsetOutOfRangeException">The offset is above the high watermark or negative.</exception>
    public long DeleteRecordsBefore(long offset)
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            var highWatermark = HighWatermark;
            if (offset == HighWatermarkOffset)
            {
                offset = highWatermark;
            }

            // Kafka's UnifiedLog.deleteRecordsOnLeader: beyond the high watermark is OFFSET_OUT_OF_RANGE.
            if (offset < 0 || offset > highWatermark)
            {
                throw new OffsetOutOfRangeException(
                    $"Cannot delete records before {offset} of {TopicPartition}: high watermark is {highWatermark}.");
            }

            if (offset <= _logStartOffset)
            {
                return _logStartOffset;
            }

            LogStartOffsetCheckpoint.Write(_fs, Directory, offset);
            Volatile.Write(ref _logStartOffset, offset);
            var segments = _segments;
            var remove = 0;
            while (remove < segments.Length - 1 && segments[remove + 1].BaseOffset <= offset)
            {
                remove++;
            }

            DeleteOldestSegments(remove, "log start offset breach");
            return offset;
        }
    }

    /// <summary>
    /// Applies <c>retention.ms</c> and <c>retention.bytes</c>: deletes the oldest whole segments that are expired
    /// or over the size limit, never the active segment and never data above the high watermark (Kafka's
    /// <c>UnifiedLog.deleteOldSegments</c>). The log start offset moves to the new first segment. Returns how many
    /// segments were deleted; the broker calls it periodically (<c>log.retention.check.interval.ms</c>).
    /// </summary>
    public int ApplyRetention()
    {
        lock (_lock)
        {
            ThrowIfUnusable();
            var segments = _segments;
            var highWatermark = HighWatermark;
            var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var remove = 0;

            // Only the oldest segments go, in order, so a stale timestamp cannot punch a hole in the log.
            if (_config.RetentionMs >= 0)
            {
                while (remove < segments.Length - 1
                       && segments[remove].NextOffset <= highWatermark
                       && nowMs - segments[remove].LargestTimestamp > _config.RetentionMs)
                {
                    remove++;
                }
            }

            if (_config.RetentionBytes >= 0)
            {
                var excess = segments.Skip(remove).Sum(s => s.Size) - _config.RetentionBytes;
                while (remove < segments.Length - 1
                       && segments[remove].NextOffset <= highWatermark
                       && excess - segments[remove].Size >= 0)
                {
                    excess -= segments[remove].Size;
                    remove++;
                }
            }

            if (remove == 0)
            {
                return 0;
            }

            Volatile.Write(ref _logStartOffset, Math.Max(_logStartOffset, segments[remove].BaseOffset));
            DeleteOldestSegments(remove, "retention");
            return remove;
        }
    }

    /// <summary>
    /// Removes every batch at or above <paramref name="offset"/>, which must be a batch boundary at or above the log
    /// start offset; the high watermark is lowered to match. The truncation is fsynced before returning.
    /// Recovery uses the same mechanism on torn tails; a single node needs it only for repair tools. Pending
    /// acknowledgements for removed offsets fail; a read racing the truncation may fail too.
    /// </summary>
    public void TruncateTo(long offset)
    {
        // Lock order everywhere: _flushLock, then _lock.
        lock (_flushLock)
        {
            lock (_lock)
            {
                ThrowIfUnusable();
                if (offset >= _logEndOffset)
                {
                    return;
                }

                if (offset < _logStartOffset)
                {
                    throw new OffsetOutOfRangeException(
                        $"Cannot truncate {TopicPartition} to {offset}, below log start offset {_logStartOffset}.");
                }

                var segments = _segments;
                var keep = Array.FindLastIndex(segments, s => s.BaseOffset <= offset);
                Invariant.Assert(keep >= 0, "the first segment starts at or below the log start offset");
                var segment = segments[keep];
                var position = segment.FindPosition(offset, segment.Size);
                Span<byte> header = stackalloc byte[RecordBatchHeader.Size];
                if (position < 0 || segment.ReadHeader(position, header).BaseOffset != offset)
                {
                    throw new ArgumentException($"Offset {offset} is not a batch boundary of {TopicPartition}.");
                }

                foreach (var later in segments[(keep + 1)..])
                {
                    _unflushedSegments.Remove(later);
                    later.Delete();
                }

                _segments = segments[..(keep + 1)];
                segment.TruncateTo(position);
                segment.FlushLog();
                _fs.FlushDirectory(Directory);
                Volatile.Write(ref _logEndOffset, offset);
                Volatile.Write(ref _highWatermark, Math.Min(HighWatermark, offset));

                // Acknowledgements for truncated data must fail, never succeed later for different data.
                foreach (var (waitOffset, waiter) in _waiters.Where(w => w.Offset >= offset))
                {
                    waiter.TrySetException(new IOException($"Offset {waitOffset} of {TopicPartition} was truncated."));
                }

                _waiters.RemoveAll(w => w.Offset >= offset);
            }
        }
    }

    /// <summary>
    /// Fsyncs every segment written since the last flush (and the directory after a roll) and advances the high
    /// watermark to what was written before the fsync started, completing the matching waiters. Called by
    /// <see cref="LogFlusher"/>; callable directly (e.g. by a shutdown path).
    /// </summary>
    /// <exception cref="IOException">The fsync failed; the log is now offline.</exception>
    public void Flush()
    {
        lock (_flushLock)
        {
            LogSegment[] dirty;
            bool directoryDirty;
            long durableEnd;
            lock (_lock)
            {
                if (_failure is not null)
                {
                    throw new IOException($"Log {TopicPartition} is offline.", _failure);
                }

                if (_disposed)
                {
                    return;
                }

                dirty = [.. _unflushedSegments];
                _unflushedSegments.Clear();
                directoryDirty = _directoryDirty;
                _directoryDirty = false;
                durableEnd = _logEndOffset;
            }

            try
            {
                // Everything below durableEnd was written to these segments before we captured it, so once they are
                // synced it is durable. Appends that race with the fsync stay pending for the next round.
                foreach (var segment in dirty)
                {
                    try
                    {
                        segment.FlushLog();
                    }
                    catch (ObjectDisposedException) when (segment.IsDeleted)
                    {
                        // Retention or DeleteRecords removed it meanwhile. Both delete only segments below the high
                        // watermark, i.e. already durable, so there is nothing left to sync. They deliberately do not
                        // wait for _flushLock, so that a slow disk does not stall them.
                    }
                }

                if (directoryDirty)
                {
                    _fs.FlushDirectory(Directory);
                }
            }
            catch (Exception ex)
            {
                // Whatever the failure, the waiters must not hang and the data's durability is unknown.
                GoOffline(ex);
                throw new IOException($"Fsync of {TopicPartition} failed; the log is offline.", ex);
            }

            CompleteWaiters(durableEnd);
        }
    }

    /// <summary>Replaces the settings (AlterConfigs); they apply to the next append or retention pass.</summary>
    public void UpdateConfig(LogConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        lock (_lock)
        {
            if (config.Durability != _config.Durability)
            {
                throw new ArgumentException("Durability cannot change on an open log.", nameof(config));
            }

            _config = config;
        }
    }

    /// <summary>
    /// Closes the log. A healthy log is flushed first (clean shutdown: data and indexes fsynced); pending waiters
    /// of an offline log are failed.
    /// </summary>
    public void Dispose()
    {
        var healthy = false;
        lock (_lock)
        {
            healthy = !_disposed && _failure is null;
        }

        if (healthy)
        {
            try
            {
                Flush();
                foreach (var segment in _segments)
                {
                    segment.FlushIndexes();
                }
            }
            catch (IOException ex)
            {
                _logger.LogWarning(ex, "Flush on close of {TopicPartition} failed", TopicPartition);
            }
        }

        List<TaskCompletionSource> orphans;
        lock (_flushLock)
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                orphans = _waiters.Select(w => w.Waiter).ToList();
                _waiters.Clear();
                foreach (var segment in _segments)
                {
                    segment.Dispose();
                }
            }
        }

        foreach (var orphan in orphans)
        {
            orphan.TrySetException(new ObjectDisposedException(nameof(PartitionLog)));
        }
    }

    /// <summary>Closes the log and deletes its directory (DeleteTopics).</summary>
    internal void DisposeAndDelete()
    {
        lock (_lock)
        {
            // Skip the flush of a log about to be deleted.
            _failure ??= new ObjectDisposedException(nameof(PartitionLog), "deleted");
        }

        Dispose();
        _fs.DeleteDirectory(Directory);
    }

    /// <summary>Test hook: the current segments, oldest first.</summary>
    internal IReadOnlyList<LogSegment> Segments => _segments;

    private static RecordBatchHeader ValidateBatch(ReadOnlySpan<byte> batch)
    {
        // Kafka's LogValidator.validateBatch checks, in the order a client error is most useful.
        var header = RecordBatchHeader.Read(batch);
        if (header.TotalSize != batch.Length)
        {
            throw new KafkaProtocolException(
                $"Expected exactly one record batch of {header.TotalSize} bytes, got {batch.Length} bytes.");
        }

        if (header.LastOffsetDelta < 0 || header.RecordCount != header.LastOffsetDelta + 1)
        {
            throw new KafkaProtocolException(
                $"Record count {header.RecordCount} does not match last offset delta {header.LastOffsetDelta}.");
        }

        if (!Crc32C.IsValidBatch(batch))
        {
            throw new KafkaProtocolException($"Record batch CRC-32C mismatch (stored 0x{header.Crc:x8}).");
        }

        return header;
    }

    private static void SetLogAppendTime(Span<byte> batch, long nowMs)
    {
        // Attribute bit 3 = LogAppendTime; MaxTimestamp @35 carries the time (DefaultRecordBatch.setMaxTimestamp).
        var attributes = BinaryPrimitives.ReadInt16BigEndian(batch[RecordBatchHeader.AttributesOffset..]);
        BinaryPrimitives.WriteInt16BigEndian(batch[RecordBatchHeader.AttributesOffset..], (short)(attributes | 0x08));
        BinaryPrimitives.WriteInt64BigEndian(batch[35..], nowMs);
        var crc = Crc32C.Compute(batch[RecordBatchHeader.AttributesOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(batch[RecordBatchHeader.CrcOffset..], crc);
    }

    private LogReadResult ReadFrom(LogSegment[] segments, long fromOffset, int maxBytes, long maxOffset)
    {
        // Read the offsets before the segments' sizes: anything published below LogEndOffset is in the files.
        var logStart = LogStartOffset;
        var logEnd = LogEndOffset;
        var highWatermark = HighWatermark;
        if (fromOffset < logStart || fromOffset > logEnd)
        {
            throw new OffsetOutOfRangeException(
                $"Offset {fromOffset} of {TopicPartition} is outside [{logStart}, {logEnd}].");
        }

        var limit = Math.Min(maxOffset, logEnd);
        var first = Array.FindLastIndex(segments, s => s.BaseOffset <= fromOffset);
        Span<byte> headerBuffer = stackalloc byte[RecordBatchHeader.Size];
        for (var i = Math.Max(first, 0); i < segments.Length && fromOffset < limit; i++)
        {
            var segment = segments[i];
            var size = segment.Size;
            var start = segment.FindPosition(fromOffset, size);
            if (start < 0)
            {
                continue;
            }

            long total = 0;
            for (var position = start; position < size;)
            {
                var header = segment.ReadHeader(position, headerBuffer);
                if (header.LastOffset >= limit || (total > 0 && total + header.TotalSize > maxBytes))
                {
                    break;
                }

                total += header.TotalSize;
                position += header.TotalSize;
            }

            if (total == 0)
            {
                break;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(checked((int)total));
            try
            {
                var read = segment.ReadBytes(start, buffer.AsSpan(0, (int)total));
                Invariant.Assert(read == total, "published segment bytes are readable");
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }

            return new LogReadResult(buffer, (int)total, highWatermark, logStart, logEnd);
        }

        return new LogReadResult(null, 0, highWatermark, logStart, logEnd);
    }

    /// <summary>Returns the segment to append <paramref name="header"/> to, rolling a new one when needed.</summary>
    private LogSegment MaybeRoll(in RecordBatchHeader header)
    {
        var segments = _segments;
        var active = segments[^1];
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();

        // Kafka's LogSegment.shouldRoll: size, age, or 32-bit relative offset overflow. Age follows
        // LogSegment.timeWaitedForRoll: the incoming batch's max timestamp minus the first batch's, so that producer
        // clocks far from ours do not roll every batch; the wall clock counts only when batches carry no timestamp.
        var full = active.Size > _config.SegmentBytes - header.TotalSize;
        var waited = active.FirstBatchMaxTimestamp >= 0
            ? header.MaxTimestamp - active.FirstBatchMaxTimestamp
            : nowMs - active.CreatedAtMs;
        var old = waited > _config.SegmentMs;
        var offsetOverflow = header.LastOffset - active.BaseOffset > int.MaxValue;
        if (active.Size == 0 || !(full || old || offsetOverflow))
        {
            return active;
        }

        var segment = LogSegment.CreateNew(_fs, Directory, header.BaseOffset, _config.IndexIntervalBytes, nowMs,
            _logger);
        _segments = [.. segments, segment];
        _directoryDirty = true;
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            _logger.LogDebug("Rolled {TopicPartition} to segment {BaseOffset}", TopicPartition, header.BaseOffset);
        }

        return segment;
    }

    private void HandleFailedWrite(LogSegment segment, IOException ex)
    {
        // The write may have left a torn prefix after the published size; cut it so the next append starts clean.
        try
        {
            segment.DiscardUnpublishedTail();
            _logger.LogWarning(ex, "Append to {TopicPartition} failed; nothing was appended", TopicPartition);
        }
        catch (IOException truncateFailure)
        {
            _failure = truncateFailure;
            _logger.LogError(truncateFailure, "Cannot repair {TopicPartition} after a failed write; log is offline",
                TopicPartition);
        }
    }

    private void GoOffline(Exception ex)
    {
        List<TaskCompletionSource> failed;
        lock (_lock)
        {
            _failure ??= ex;
            failed = _waiters.Select(w => w.Waiter).ToList();
            _waiters.Clear();
        }

        _logger.LogError(ex, "Fsync of {TopicPartition} failed; the log is offline until reopened", TopicPartition);
        foreach (var waiter in failed)
        {
            waiter.TrySetException(new IOException($"Fsync of {TopicPartition} failed.", ex));
        }
    }

    private void CompleteWaiters(long durableEnd)
    {
        List<TaskCompletionSource>? done = null;
        lock (_lock)
        {
            Invariant.Assert(durableEnd <= _logEndOffset, "the high watermark never passes the log end offset");
            if (durableEnd > _highWatermark)
            {
                Volatile.Write(ref _highWatermark, durableEnd);
            }

            // Waiters are added in offset order (appends are serialized), so the completed ones are a prefix.
            var count = 0;
            while (count < _waiters.Count && _waiters[count].Offset < durableEnd)
            {
                (done ??= []).Add(_waiters[count].Waiter);
                count++;
            }

            _waiters.RemoveRange(0, count);
        }

        if (done is not null)
        {
            foreach (var waiter in done)
            {
                waiter.TrySetResult();
            }
        }
    }

    private void DeleteOldestSegments(int count, string reason)
    {
        if (count == 0)
        {
            return;
        }

        var segments = _segments;
        Invariant.Assert(count < segments.Length, "the active segment is never deleted");
        _segments = segments[count..];
        foreach (var segment in segments[..count])
        {
            _unflushedSegments.Remove(segment);
            if (_logger.IsEnabled(LogLevel.Information))
            {
                _logger.LogInformation("Deleting segment {BaseOffset} of {TopicPartition} ({Reason})",
                    segment.BaseOffset, TopicPartition, reason);
            }

            segment.Delete();
        }

        _directoryDirty = true;
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
        {
            throw new IOException($"Log {TopicPartition} is offline after a failed write or fsync.", _failure);
        }
    }

    private void Recover()
    {
        _fs.CreateDirectory(Directory);
        var files = _fs.ListFiles(Directory);
        var bases = new List<long>();
        foreach (var file in files)
        {
            if (file.EndsWith(LogFileNames.TempSuffix, StringComparison.Ordinal))
            {
                // An interrupted checkpoint write; the rename never happened, so the old checkpoint stands.
                _fs.DeleteFile(file);
            }
            else if (LogFileNames.TryParseBaseOffset(file, LogFileNames.LogSuffix, out var baseOffset))
            {
                bases.Add(baseOffset);
            }
        }

        bases.Sort();
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var segments = new List<LogSegment>();
        var truncatedAt = -1L;
        try
        {
            foreach (var baseOffset in bases)
            {
                // After a truncation or a gap, later segments hold data that no longer follows on; Kafka deletes them.
                var follows = segments.Count == 0 || baseOffset == segments[^1].NextOffset;
                if (!follows || truncatedAt >= 0)
                {
                    _logger.LogWarning("Deleting segment {BaseOffset} of {TopicPartition}: it does not follow on",
                        baseOffset, TopicPartition);
                    DeleteSegmentFiles(baseOffset);
                    continue;
                }

                var segment = LogSegment.Load(_fs, Directory, baseOffset, _config.IndexIntervalBytes, nowMs, _logger,
                    out var truncated);
                segments.Add(segment);
                if (truncated)
                {
                    truncatedAt = segment.NextOffset;
                }
            }

            DeleteOrphanIndexes(files, bases);

            var checkpoint = LogStartOffsetCheckpoint.TryRead(_fs, Directory, _logger);
            var logEnd = segments.Count > 0 ? segments[^1].NextOffset : checkpoint ?? 0;
            var logStart = Math.Max(checkpoint ?? 0, segments.Count > 0 ? segments[0].BaseOffset : 0);
            if (logStart > logEnd)
            {
                // DeleteRecords reached further than the data that survived (possible only with OsFlush): start an
                // empty log at the start offset, as Kafka does when the log start offset passes the log end.
                _logger.LogWarning("Log start offset {Start} of {TopicPartition} is past its end {End}; emptying it",
                    logStart, TopicPartition, logEnd);
                foreach (var segment in segments)
                {
                    segment.Delete();
                }

                segments.Clear();
                logEnd = logStart;
            }

            if (segments.Count == 0)
            {
                segments.Add(LogSegment.CreateNew(_fs, Directory, logEnd, _config.IndexIntervalBytes, nowMs,
                    _logger));
            }

            // Make what recovery kept durable before it becomes visible: the files may hold bytes that were only
            // in the page cache of a crashed process, and the high watermark must never cover non-durable data.
            foreach (var segment in segments)
            {
                segment.FlushLog();
            }

            _fs.FlushDirectory(Directory);
            _segments = [.. segments];
            TransactionIndexRebuildNeeded = segments.Exists(s => s.TransactionIndexMissing);
            _logStartOffset = logStart;
            _logEndOffset = logEnd;
            _highWatermark = logEnd;
        }
        catch
        {
            foreach (var segment in segments)
            {
                segment.Dispose();
            }

            throw;
        }
    }

    private void DeleteSegmentFiles(long baseOffset)
    {
        _fs.DeleteFile(Path.Combine(Directory, LogFileNames.FileName(baseOffset, LogFileNames.LogSuffix)));
        _fs.DeleteFile(Path.Combine(Directory, LogFileNames.FileName(baseOffset, LogFileNames.OffsetIndexSuffix)));
        _fs.DeleteFile(Path.Combine(Directory, LogFileNames.FileName(baseOffset, LogFileNames.TimeIndexSuffix)));
        _fs.DeleteFile(Path.Combine(Directory, LogFileNames.FileName(baseOffset, LogFileNames.TransactionIndexSuffix)));
    }

    private void DeleteOrphanIndexes(IReadOnlyList<string> files, List<long> logBases)
    {
        foreach (var file in files)
        {
            if ((LogFileNames.TryParseBaseOffset(file, LogFileNames.OffsetIndexSuffix, out var baseOffset)
                 || LogFileNames.TryParseBaseOffset(file, LogFileNames.TimeIndexSuffix, out baseOffset)
                 || LogFileNames.TryParseBaseOffset(file, LogFileNames.TransactionIndexSuffix, out baseOffset))
                && !logBases.Contains(baseOffset))
            {
                _fs.DeleteFile(file);
            }
        }
    }
}
