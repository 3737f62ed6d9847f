using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using Lockstep.Protocol;
using Lockstep.Protocol.Records;
using Microsoft.Extensions.Logging;

namespace Lockstep.Storage.Internal;

/// <summary>
/// One segment of a partition log: <c>&lt;base&gt;.log</c> holding whole record batches back to back, exactly as
/// received (offsets assigned), plus the sparse <c>.index</c> and <c>.timeindex</c> files and the aborted-transaction
/// index <c>.txnindex</c> (<see cref="TransactionIndex"/>) (Kafka's <c>LogSegment.java</c>).
/// </summary>
/// <remarks>
/// <para>Ownership: mutating members (<see cref="Append"/>, <see cref="TruncateTo"/>, <see cref="Recover"/>) run
/// under the owning <see cref="PartitionLog"/>'s append lock. <see cref="Size"/>, <see cref="NextOffset"/> and
/// <see cref="MaxTimestamp"/> are published with volatile writes after the bytes are written, so lock-free readers
/// only look at bytes below <see cref="Size"/>, which never change once published (until retention deletes the
/// whole segment).</para>
/// <para>Indexes are derived data: they are never fsynced on the append path, and recovery recomputes them from the
/// log and rewrites any file that does not match (Kafka instead trusts indexes below the recovery point).</para>
/// <para>Invariants: batches are contiguous (each BaseOffset equals the previous LastOffset + 1, the first equals
/// <see cref="BaseOffset"/>); every published byte belongs to a batch whose CRC was checked.</para>
/// </remarks>
internal sealed class LogSegment : IDisposable
{
    private readonly IFileSystem _fs;
    private readonly IStorageFile _log;
    private readonly IStorageFile _offsetIndexFile;
    private readonly IStorageFile _timeIndexFile;
    private readonly ILogger _logger;
    private TransactionIndex _txnIndex = null!; // Set by CreateNew/Load right after construction.
    private readonly int _indexIntervalBytes;

    // Writer-owned (PartitionLog append lock).
    private int _bytesSinceLastIndexEntry;
    private long _offsetOfMaxTimestamp = -1;
    private bool _indexFilesStale;

    // Published: written by the writer with Volatile.Write, read lock-free.
    private long _size;
    private long _nextOffset;
    private long _maxTimestamp = -1;
    private bool _deleted;

    private LogSegment(IFileSystem fs, string directory, long baseOffset, int indexIntervalBytes, long createdAtMs,
        ILogger logger)
    {
        _fs = fs;
        _logger = logger;
        _indexIntervalBytes = indexIntervalBytes;
        BaseOffset = baseOffset;
        CreatedAtMs = createdAtMs;
        _nextOffset = baseOffset;
        LogPath = Path.Combine(directory, LogFileNames.FileName(baseOffset, LogFileNames.LogSuffix));
        OffsetIndexPath = Path.Combine(directory, LogFileNames.FileName(baseOffset, LogFileNames.OffsetIndexSuffix));
        TimeIndexPath = Path.Combine(directory, LogFileNames.FileName(baseOffset, LogFileNames.TimeIndexSuffix));
        OffsetIndex = new SparseIndex(SparseIndexKind.Offset, baseOffset);
        TimeIndex = new SparseIndex(SparseIndexKind.Time, baseOffset);

        // Open all three or none, so that a failure does not leak handles.
        IStorageFile? log = null, offsetIndex = null;
        try
        {
            log = fs.OpenFile(LogPath, FileOpenMode.OpenOrCreate);
            offsetIndex = fs.OpenFile(OffsetIndexPath, FileOpenMode.OpenOrCreate);
            _timeIndexFile = fs.OpenFile(TimeIndexPath, FileOpenMode.OpenOrCreate);
        }
        catch
        {
            log?.Dispose();
            offsetIndex?.Dispose();
            throw;
        }

        _log = log;
        _offsetIndexFile = offsetIndex;
    }

    public long BaseOffset { get; }

    /// <summary>When the segment was created or loaded; stands in for timestamps when batches carry none.</summary>
    public long CreatedAtMs { get; }

    public string LogPath { get; }

    public string OffsetIndexPath { get; }

    public string TimeIndexPath { get; }

    public SparseIndex OffsetIndex { get; }

    public SparseIndex TimeIndex { get; }

    /// <summary>Path of the aborted-transaction index (kip939-spec.md §8.6).</summary>
    public string TransactionIndexPath => _txnIndex.Path;

    /// <summary>Aborted transactions whose marker is in this segment, in marker order (lock-free snapshot).</summary>
    public IReadOnlyList<AbortedTransaction> AbortedTransactions => _txnIndex.Entries;

    /// <summary>Load found no <c>.txnindex</c> file: its entries (if any) must be rebuilt from the log.</summary>
    public bool TransactionIndexMissing { get; private set; }

    /// <summary>Published size in bytes: every byte below it is a complete, CRC-checked batch.</summary>
    public long Size => Volatile.Read(ref _size);

    /// <summary>Offset the next batch appended to this segment would get (BaseOffset while empty).</summary>
    public long NextOffset => Volatile.Read(ref _nextOffset);

    /// <summary>Largest batch max timestamp in the segment, -1 when none.</summary>
    public long MaxTimestamp => Volatile.Read(ref _maxTimestamp);

    /// <summary>The first batch's max timestamp, -1 while empty; drives <c>segment.ms</c> rolls.</summary>
    public long FirstBatchMaxTimestamp { get; private set; } = -1;

    /// <summary>Set once <see cref="Delete"/> ran; a racing fsync then fails harmlessly.</summary>
    public bool IsDeleted => Volatile.Read(ref _deleted);

    /// <summary>Whether recovery had to rewrite an index file that was missing or did not match the log.</summary>
    public bool IndexesRebuilt { get; private set; }

    /// <summary>The time retention compares with: the newest batch timestamp, else the creation time.</summary>
    public long LargestTimestamp => MaxTimestamp >= 0 ? MaxTimestamp : CreatedAtMs;

    public static LogSegment CreateNew(IFileSystem fs, string directory, long baseOffset, int indexIntervalBytes,
        long nowMs, ILogger logger)
    {
        var segment = new LogSegment(fs, directory, baseOffset, indexIntervalBytes, nowMs, logger);

        // Leftovers under the same name (a segment created just before a crash) carry nothing we acknowledged.
        segment._log.Truncate(0);
        segment._offsetIndexFile.Truncate(0);
        segment._timeIndexFile.Truncate(0);
        try
        {
            segment._txnIndex = TransactionIndex.CreateNew(fs, TxnIndexPath(directory, baseOffset));
        }
        catch
        {
            segment.Dispose();
            throw;
        }

        return segment;
    }

    /// <summary>
    /// Opens an existing segment and recovers it: checks every batch and truncates at the first torn or corrupt
    /// one. Returns the segment and whether anything was truncated (then every later segment must go too).
    /// </summary>
    public static LogSegment Load(IFileSystem fs, string directory, long baseOffset, int indexIntervalBytes,
        long nowMs, ILogger logger, out bool truncated)
    {
        var segment = new LogSegment(fs, directory, baseOffset, indexIntervalBytes, nowMs, logger);
        try
        {
            truncated = segment.Recover();
            segment._txnIndex = TransactionIndex.Load(fs, TxnIndexPath(directory, baseOffset), segment.NextOffset,
                logger, out var missing);
            segment.TransactionIndexMissing = missing && segment.Size > 0;
            return segment;
        }
        catch
        {
            segment.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends one validated batch whose offsets are assigned. On an I/O error the segment's published state is
    /// unchanged; the file may hold a torn prefix after <see cref="Size"/>, which the caller truncates.
    /// </summary>
    public void Append(ReadOnlySpan<byte> batch, in RecordBatchHeader header)
    {
        Invariant.Assert(header.BaseOffset == NextOffset, "batches in a segment are contiguous");
        var position = _size;
        _log.Write(position, batch);
        Track(header, position, persist: true);
        Volatile.Write(ref _size, position + batch.Length);
        Volatile.Write(ref _nextOffset, header.LastOffset + 1);
    }

    /// <summary>Cuts the file at a torn write left after <see cref="Size"/> by a failed <see cref="Append"/>.</summary>
    public void DiscardUnpublishedTail() => _log.Truncate(_size);

    /// <summary>Position of the first batch whose last offset is ≥ <paramref name="offset"/>, or -1.</summary>
    public long FindPosition(long offset, long sizeLimit)
    {
        var position = OffsetIndex.Lookup(offset, strict: false) ?? 0;
        Span<byte> buffer = stackalloc byte[RecordBatchHeader.Size];
        while (position < sizeLimit)
        {
            var header = ReadHeader(position, buffer);
            if (header.LastOffset >= offset)
            {
                return position;
            }

            position += header.TotalSize;
        }

        return -1;
    }

    /// <summary>Reads the header of the published batch at <paramref name="position"/>.</summary>
    public RecordBatchHeader ReadHeader(long position, Span<byte> buffer)
    {
        var read = _log.Read(position, buffer[..RecordBatchHeader.Size]);
        return RecordBatchHeader.Read(buffer[..read]);
    }

    public int ReadBytes(long position, Span<byte> destination) => _log.Read(position, destination);

    /// <summary>
    /// ListOffsets by timestamp within this segment: the first batch below <paramref name="maxOffset"/> whose max
    /// timestamp is ≥ <paramref name="timestamp"/>. The time index skips batches known to be older.
    /// </summary>
    public TimestampOffset? FindByTimestamp(long timestamp, long maxOffset)
    {
        var startOffset = TimeIndex.Lookup(timestamp, strict: true) ?? BaseOffset;
        var position = OffsetIndex.Lookup(startOffset, strict: false) ?? 0;
        var size = Size;
        Span<byte> buffer = stackalloc byte[RecordBatchHeader.Size];
        while (position < size)
        {
            var header = ReadHeader(position, buffer);
            if (header.LastOffset >= maxOffset)
            {
                return null;
            }

            if (header.MaxTimestamp >= timestamp)
            {
                return new TimestampOffset(header.MaxTimestamp, header.BaseOffset);
            }

            position += header.TotalSize;
        }

        return null;
    }

    /// <summary>
    /// Records an aborted transaction whose marker is in this segment. Called under the log's append lock, right
    /// after the marker itself was appended, so both reach the disk in the same flush.
    /// </summary>
    public void AppendAbortedTransaction(in AbortedTransaction entry)
    {
        Invariant.Assert(entry.LastOffset >= BaseOffset && entry.LastOffset < NextOffset, "the marker is in this segment");
        _txnIndex.Append(entry);
    }

    /// <summary>Whether the index already holds the abort whose marker is at <paramref name="markerOffset"/>.</summary>
    public bool HasAbortedTransaction(long markerOffset) => _txnIndex.Contains(markerOffset);

    /// <summary>Drops every batch from <paramref name="position"/> (a batch boundary) on; rebuilds indexes.</summary>
    public void TruncateTo(long position)
    {
        _log.Truncate(position);
        Recover();
        _txnIndex.TruncateTo(NextOffset);
    }

    /// <summary>Fsyncs the log file and then the transaction index (entries are written after their markers).</summary>
    public void FlushLog()
    {
        _log.FlushToDisk();
        _txnIndex.Flush();
    }

    /// <summary>Fsyncs only the transaction index (used after recovery re-adds entries to a sealed segment).</summary>
    public void FlushTransactionIndex() => _txnIndex.Flush();

    public void FlushIndexes()
    {
        if (!_indexFilesStale)
        {
            _offsetIndexFile.FlushToDisk();
            _timeIndexFile.FlushToDisk();
        }
    }

    public void Dispose()
    {
        _log.Dispose();
        _offsetIndexFile.Dispose();
        _timeIndexFile.Dispose();
        _txnIndex?.Dispose();
    }

    /// <summary>Closes the segment and deletes its files; the caller flushes the directory.</summary>
    public void Delete()
    {
        Volatile.Write(ref _deleted, true);
        Dispose();
        _fs.DeleteFile(LogPath);
        _fs.DeleteFile(OffsetIndexPath);
        _fs.DeleteFile(TimeIndexPath);
        _fs.DeleteFile(TransactionIndexPath);
    }

    private static string TxnIndexPath(string directory, long baseOffset) =>
        Path.Combine(directory, LogFileNames.FileName(baseOffset, LogFileNames.TransactionIndexSuffix));

    /// <summary>
    /// Scans the whole file, checking each batch's header, contiguity and CRC-32C, and truncates at the first bad
    /// one (Kafka's <c>LogSegment.recover</c>). Recomputes indexes and rewrites index files that differ.
    /// </summary>
    private bool Recover()
    {
        _bytesSinceLastIndexEntry = 0;
        _offsetOfMaxTimestamp = -1;
        _maxTimestamp = -1;
        FirstBatchMaxTimestamp = -1;
        OffsetIndex.Clear();
        TimeIndex.Clear();

        var length = _log.Length;
        long position = 0;
        var next = BaseOffset;
        string? problem = null;
        Span<byte> headerBuffer = stackalloc byte[RecordBatchHeader.Size];
        while (position < length)
        {
            problem = CheckBatchAt(position, length, next, headerBuffer, out var header);
            if (problem is not null)
            {
                break;
            }

            Track(header, position, persist: false);
            position += header.TotalSize;
            next = header.LastOffset + 1;
        }

        var truncated = problem is not null;
        if (truncated)
        {
            _logger.LogWarning(
                "Truncating {Path} at byte {Position} of {Length} (next offset {Offset}): {Problem}",
                LogPath, position, length, next, problem);
            _log.Truncate(position);
        }

        _size = position;
        _nextOffset = next;
        RewriteIndexFileIfDifferent(_offsetIndexFile, OffsetIndex, OffsetIndexPath);
        RewriteIndexFileIfDifferent(_timeIndexFile, TimeIndex, TimeIndexPath);
        _indexFilesStale = false;
        return truncated;
    }

    /// <summary>Returns why the bytes at <paramref name="position"/> are not a valid next batch, or null.</summary>
    private string? CheckBatchAt(long position, long length, long expectedOffset, Span<byte> headerBuffer,
        out RecordBatchHeader header)
    {
        header = default;
        if (length - position < RecordBatchHeader.Size)
        {
            return "torn batch header";
        }

        try
        {
            header = ReadHeader(position, headerBuffer);
        }
        catch (KafkaProtocolException ex)
        {
            return ex.Message;
        }

        if (header.TotalSize > length - position)
        {
            return $"torn batch: {header.TotalSize} bytes declared, {length - position} present";
        }

        // BaseOffset is outside the CRC, so contiguity is the only check that catches a damaged offset field.
        if (header.BaseOffset != expectedOffset)
        {
            return $"batch base offset {header.BaseOffset} where {expectedOffset} was expected";
        }

        if (header.LastOffsetDelta < 0 || header.RecordCount != header.LastOffsetDelta + 1)
        {
            return $"record count {header.RecordCount} does not match last offset delta {header.LastOffsetDelta}";
        }

        var buffer = ArrayPool<byte>.Shared.Rent(header.TotalSize);
        try
        {
            var batch = buffer.AsSpan(0, header.TotalSize);
            if (_log.Read(position, batch) != batch.Length || !Crc32C.IsValidBatch(batch))
            {
                return "CRC-32C mismatch";
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return null;
    }

    /// <summary>
    /// Updates timestamps and the sparse indexes for a batch at <paramref name="position"/>, following Kafka's
    /// <c>LogSegment.append</c>: an index entry is added for the batch that starts after more than
    /// <c>index.interval.bytes</c> were written since the previous entry.
    /// </summary>
    private void Track(in RecordBatchHeader header, long position, bool persist)
    {
        if (FirstBatchMaxTimestamp < 0 && position == 0)
        {
            FirstBatchMaxTimestamp = header.MaxTimestamp;
        }

        if (header.MaxTimestamp > _maxTimestamp)
        {
            Volatile.Write(ref _maxTimestamp, header.MaxTimestamp);
            _offsetOfMaxTimestamp = header.LastOffset;
        }

        if (_bytesSinceLastIndexEntry > _indexIntervalBytes)
        {
            OffsetIndex.Add(header.LastOffset, position);
            Persist(_offsetIndexFile, OffsetIndex, header.LastOffset, position, persist);

            // Kafka's TimeIndex.maybeAppend: only a strictly larger max timestamp earns an entry.
            if (_maxTimestamp > TimeIndex.LastKey)
            {
                TimeIndex.Add(_maxTimestamp, _offsetOfMaxTimestamp);
                Persist(_timeIndexFile, TimeIndex, _maxTimestamp, _offsetOfMaxTimestamp, persist);
            }

            _bytesSinceLastIndexEntry = 0;
        }

        _bytesSinceLastIndexEntry += header.TotalSize;
    }

    private void Persist(IStorageFile file, SparseIndex index, long key, long value, bool persist)
    {
        if (!persist || _indexFilesStale)
        {
            return;
        }

        Span<byte> entry = stackalloc byte[12];
        index.Encode(key, value, entry);
        try
        {
            file.Append(entry[..index.EntrySize]);
        }
        catch (IOException ex)
        {
            // The batch is already in the log; an index is derived data, so stop writing it and let recovery
            // rebuild it rather than fail an append whose bytes are on disk.
            _indexFilesStale = true;
            _logger.LogWarning(ex, "Index write failed for {Path}; it will be rebuilt on the next open", LogPath);
        }
    }

    private void RewriteIndexFileIfDifferent(IStorageFile file, SparseIndex index, string path)
    {
        var expected = index.Serialize();
        var length = file.Length;

        // Compare only when the length matches, so that a damaged huge file is never read into memory.
        if (length == expected.Length)
        {
            var actual = new byte[length];
            if (file.Read(0, actual) == actual.Length && actual.AsSpan().SequenceEqual(expected))
            {
                return;
            }
        }

        if (length > 0 || expected.Length > 0)
        {
            if (_logger.IsEnabled(LogLevel.Information))
            {
                _logger.LogInformation("Rebuilding index {Path} ({Entries} entries)", path, index.Count);
            }

            IndexesRebuilt = true;
        }

        file.Truncate(0);
        file.Write(0, expected);
    }
}
