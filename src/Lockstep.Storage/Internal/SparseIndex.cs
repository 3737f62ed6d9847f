using System;
using System.Buffers.Binary;

namespace Lockstep.Storage.Internal;

/// <summary>
/// The in-memory copy of a segment's sparse index, plus its on-disk encoding. Two kinds share it:
/// offset index (key = a batch's last offset, value = the batch's file position; Kafka's <c>OffsetIndex</c> 8-byte
/// entries: int32 offset relative to the segment base, int32 position) and time index (key = max timestamp seen so
/// far, value = last offset of the batch holding it; Kafka's <c>TimeIndex</c> 12-byte entries: int64 timestamp,
/// int32 relative offset). Both are big-endian like Kafka's.
/// </summary>
/// <remarks>
/// Thread-safety: one writer (the partition's append lock) calls <see cref="Add"/>; readers call the lookups
/// without a lock. Entries live in a copy-on-write snapshot: the writer fills a slot past every published count and
/// then publishes a new (array, count) pair, so a reader always sees a consistent prefix.
/// Invariant: keys strictly increase.
/// </remarks>
internal sealed class SparseIndex(SparseIndexKind kind, long baseOffset)
{
    private volatile Snapshot _snapshot = new([], 0);

    public SparseIndexKind Kind => kind;

    public int Count => _snapshot.Count;

    public int EntrySize => kind == SparseIndexKind.Offset ? 8 : 12;

    public long LastKey
    {
        get
        {
            var s = _snapshot;
            return s.Count == 0 ? long.MinValue : s.Entries[s.Count - 1].Key;
        }
    }

    public void Add(long key, long value)
    {
        var s = _snapshot;
        Invariant.Assert(s.Count == 0 || key > s.Entries[s.Count - 1].Key, "sparse index keys must increase");
        var entries = s.Entries;
        if (s.Count == entries.Length)
        {
            entries = new Entry[Math.Max(8, entries.Length * 2)];
            Array.Copy(s.Entries, entries, s.Count);
        }

        entries[s.Count] = new Entry(key, value);
        _snapshot = new Snapshot(entries, s.Count + 1);
    }

    public void Clear() => _snapshot = new Snapshot([], 0);

    /// <summary>Value of the last entry with key ≤ <paramref name="key"/> (&lt; when strict), else null.</summary>
    public long? Lookup(long key, bool strict)
    {
        var s = _snapshot;
        int lo = 0, hi = s.Count - 1, found = -1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var k = s.Entries[mid].Key;
            if (k < key || (!strict && k == key))
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found < 0 ? null : s.Entries[found].Value;
    }

    /// <summary>Encodes one entry in the on-disk format.</summary>
    public void Encode(long key, long value, Span<byte> destination)
    {
        if (kind == SparseIndexKind.Offset)
        {
            BinaryPrimitives.WriteInt32BigEndian(destination, checked((int)(key - baseOffset)));
            BinaryPrimitives.WriteInt32BigEndian(destination[4..], checked((int)value));
        }
        else
        {
            BinaryPrimitives.WriteInt64BigEndian(destination, key);
            BinaryPrimitives.WriteInt32BigEndian(destination[8..], checked((int)(value - baseOffset)));
        }
    }

    /// <summary>The whole index in its on-disk format.</summary>
    public byte[] Serialize()
    {
        var s = _snapshot;
        var bytes = new byte[s.Count * EntrySize];
        for (var i = 0; i < s.Count; i++)
        {
            Encode(s.Entries[i].Key, s.Entries[i].Value, bytes.AsSpan(i * EntrySize));
        }

        return bytes;
    }

    private readonly record struct Entry(long Key, long Value);

    private sealed record Snapshot(Entry[] Entries, int Count);
}

/// <summary>Which of Kafka's two sparse segment indexes a <see cref="SparseIndex"/> holds.</summary>
internal enum SparseIndexKind
{
    Offset = 0,
    Time = 1,
}
