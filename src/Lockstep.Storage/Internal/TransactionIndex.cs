using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;

namespace Lockstep.Storage.Internal;

/// <summary>
/// The <c>&lt;base&gt;.txnindex</c> file of one segment: aborted transactions whose ABORT marker is in the segment,
/// in marker order (Kafka's <c>TransactionIndex.java</c>). Each entry is 34 bytes, big-endian, exactly Kafka's
/// <c>AbortedTxn</c> v0 layout: int16 version 0, int64 producerId, int64 firstOffset, int64 lastOffset,
/// int64 lastStableOffset.
/// </summary>
/// <remarks>
/// <para>Entries are kept in memory as well (an immutable array republished on every change) so that read_committed
/// fetches scan them without touching the file or taking a lock. Aborts are rare, so the copy-on-write is cheap.</para>
/// <para>Unlike Kafka, which creates the file lazily, every segment gets one, possibly empty: a missing file then
/// means "lost" rather than "no aborts", and <see cref="PartitionLog.TransactionIndexRebuildNeeded"/> tells the owner
/// to rebuild the entries by replaying the log.</para>
/// <para>Mutations run under the owning <see cref="PartitionLog"/>'s append lock; fsync happens with the segment's
/// log file (<see cref="LogSegment.FlushLog"/>), so an entry is durable no later than its marker.</para>
/// </remarks>
internal sealed class TransactionIndex : IDisposable
{
    /// <summary>Size of one entry on disk.</summary>
    public const int EntrySize = 34;

    private const short EntryVersion = 0;

    private readonly IStorageFile _file;
    private AbortedTransaction[] _entries = [];
    private int _dirty;

    private TransactionIndex(IStorageFile file, string path)
    {
        _file = file;
        Path = path;
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The entries, in marker order (lock-free snapshot).</summary>
    public IReadOnlyList<AbortedTransaction> Entries => Volatile.Read(ref _entries);

    /// <summary>Creates an empty index, replacing any leftover file of the same name.</summary>
    public static TransactionIndex CreateNew(IFileSystem fs, string path)
    {
        var index = new TransactionIndex(fs.OpenFile(path, FileOpenMode.OpenOrCreate), path);
        index._file.Truncate(0);
        return index;
    }

    /// <summary>
    /// Opens an existing index (or creates an empty one and reports <paramref name="missing"/>), keeping only whole
    /// entries whose marker lies below <paramref name="segmentEnd"/> (the segment's recovered next offset): a torn
    /// last entry or entries for markers lost with a torn log tail are cut off, as Kafka's
    /// <c>TransactionIndex.truncateTo</c> does during recovery.
    /// </summary>
    public static TransactionIndex Load(IFileSystem fs, string path, long segmentEnd, ILogger logger, out bool missing)
    {
        missing = !fs.FileExists(path);
        var index = new TransactionIndex(fs.OpenFile(path, FileOpenMode.OpenOrCreate), path);
        try
        {
            var length = index._file.Length;
            var entries = new List<AbortedTransaction>();
            var entry = new byte[EntrySize];
            long keep = 0;
            for (long position = 0; position + EntrySize <= length; position += EntrySize)
            {
                if (index._file.Read(position, entry) != EntrySize
                    || BinaryPrimitives.ReadInt16BigEndian(entry) != EntryVersion)
                {
                    break;
                }

                var txn = Decode(entry);
                if (txn.LastOffset >= segmentEnd || txn.FirstOffset > txn.LastOffset)
                {
                    break;
                }

                entries.Add(txn);
                keep = position + EntrySize;
            }

            if (keep != length)
            {
                logger.LogWarning("Truncating transaction index {Path} from {Length} to {Keep} bytes", path, length, keep);
                index._file.Truncate(keep);
            }

            index._entries = [.. entries];
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Appends an entry (written to the OS; durable after <see cref="Flush"/>).</summary>
    public void Append(in AbortedTransaction entry)
    {
        Span<byte> bytes = stackalloc byte[EntrySize];
        BinaryPrimitives.WriteInt16BigEndian(bytes, EntryVersion);
        BinaryPrimitives.WriteInt64BigEndian(bytes[2..], entry.ProducerId);
        BinaryPrimitives.WriteInt64BigEndian(bytes[10..], entry.FirstOffset);
        BinaryPrimitives.WriteInt64BigEndian(bytes[18..], entry.LastOffset);
        BinaryPrimitives.WriteInt64BigEndian(bytes[26..], entry.LastStableOffset);
        var count = _entries.Length;
        _file.Write((long)count * EntrySize, bytes);
        Volatile.Write(ref _entries, [.. _entries, entry]);
        Volatile.Write(ref _dirty, 1);
    }

    /// <summary>Whether an entry for the marker at <paramref name="lastOffset"/> exists.</summary>
    public bool Contains(long lastOffset) => Array.Exists(_entries, e => e.LastOffset == lastOffset);

    /// <summary>Drops entries whose marker is at or above <paramref name="offset"/> (log truncation).</summary>
    public void TruncateTo(long offset)
    {
        var keep = Array.FindIndex(_entries, e => e.LastOffset >= offset);
        if (keep < 0)
        {
            return;
        }

        _file.Truncate((long)keep * EntrySize);
        Volatile.Write(ref _entries, _entries[..keep]);
        Volatile.Write(ref _dirty, 1);
    }

    /// <summary>
    /// Fsyncs the file if it changed since the last flush. Runs on the flusher thread, concurrently with appends:
    /// an append writes before it raises the flag, so clearing the flag before the fsync never loses a write.
    /// </summary>
    public void Flush()
    {
        if (Interlocked.Exchange(ref _dirty, 0) == 1)
        {
            _file.FlushToDisk();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();

    private static AbortedTransaction Decode(ReadOnlySpan<byte> entry) => new(
        BinaryPrimitives.ReadInt64BigEndian(entry[2..]),
        BinaryPrimitives.ReadInt64BigEndian(entry[10..]),
        BinaryPrimitives.ReadInt64BigEndian(entry[18..]),
        BinaryPrimitives.ReadInt64BigEndian(entry[26..]));
}
