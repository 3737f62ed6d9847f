using System;
using System.Collections.Generic;

namespace Lockstep.Protocol.Records;

/// <summary>
/// One record read in place by <see cref="RecordBatchReader"/>: the fields of Kafka's <c>DefaultRecord.java</c>
/// with key, value and headers as spans, so reading a batch allocates nothing per record. The spans are valid
/// only while the batch buffer (and the reader's decompression buffer) are.
/// </summary>
public readonly ref struct RecordView
{
    private readonly ReadOnlySpan<byte> _headers;

    internal RecordView(
        long offset,
        long timestamp,
        sbyte attributes,
        long timestampDelta,
        int offsetDelta,
        ReadOnlySpan<byte> key,
        bool keyIsNull,
        ReadOnlySpan<byte> value,
        bool valueIsNull,
        ReadOnlySpan<byte> headers,
        int headerCount)
    {
        Offset = offset;
        Timestamp = timestamp;
        Attributes = attributes;
        TimestampDelta = timestampDelta;
        OffsetDelta = offsetDelta;
        Key = key;
        KeyIsNull = keyIsNull;
        Value = value;
        ValueIsNull = valueIsNull;
        _headers = headers;
        HeaderCount = headerCount;
    }

    /// <summary>Absolute offset (BaseOffset + OffsetDelta).</summary>
    public long Offset { get; }

    /// <summary>Absolute timestamp (BaseTimestamp + TimestampDelta, or MaxTimestamp under log-append time).</summary>
    public long Timestamp { get; }

    /// <summary>Record attributes (unused by Kafka, written as 0).</summary>
    public sbyte Attributes { get; }

    /// <summary>Timestamp delta as stored.</summary>
    public long TimestampDelta { get; }

    /// <summary>Offset delta as stored.</summary>
    public int OffsetDelta { get; }

    /// <summary>Key bytes; empty when <see cref="KeyIsNull"/>.</summary>
    public ReadOnlySpan<byte> Key { get; }

    /// <summary>True when the key's wire length was -1 (distinct from an empty key).</summary>
    public bool KeyIsNull { get; }

    /// <summary>Value bytes; empty when <see cref="ValueIsNull"/>.</summary>
    public ReadOnlySpan<byte> Value { get; }

    /// <summary>True when the value's wire length was -1: a tombstone for compacted topics.</summary>
    public bool ValueIsNull { get; }

    /// <summary>Number of headers.</summary>
    public int HeaderCount { get; }

    /// <summary>The headers, enumerated in place.</summary>
    public RecordHeaderEnumerator Headers => new(_headers, HeaderCount);

    /// <summary>Copies the record out into a heap <see cref="Record"/>.</summary>
    public Record ToRecord()
    {
        IReadOnlyList<RecordHeader> headers = [];
        if (HeaderCount > 0)
        {
            var list = new List<RecordHeader>(HeaderCount);
            foreach (var header in Headers)
            {
                list.Add(header.ToHeader());
            }

            headers = list;
        }

        return new Record(
            Offset,
            Timestamp,
            Attributes,
            TimestampDelta,
            OffsetDelta,
            KeyIsNull ? null : Key.ToArray(),
            ValueIsNull ? null : Value.ToArray(),
            headers);
    }
}
