using System.Collections.Generic;

namespace Lockstep.Protocol.Records;

/// <summary>
/// A materialised magic-2 record, as laid out by Kafka's <c>DefaultRecord.java</c>:
/// length varint, attributes int8, timestampDelta varlong, offsetDelta varint, key (varint length, -1 for null),
/// value (same), header count varint, then per header a varint-length UTF-8 key and a nullable varint-length value.
/// </summary>
/// <remarks>
/// This is the allocation-friendly form; <see cref="RecordView"/> reads the same fields as spans without copying.
/// </remarks>
public sealed class Record
{
    /// <summary>Creates a record; normally produced by <see cref="RecordView.ToRecord"/>.</summary>
    public Record(
        long offset,
        long timestamp,
        sbyte attributes,
        long timestampDelta,
        int offsetDelta,
        byte[]? key,
        byte[]? value,
        IReadOnlyList<RecordHeader> headers)
    {
        Offset = offset;
        Timestamp = timestamp;
        Attributes = attributes;
        TimestampDelta = timestampDelta;
        OffsetDelta = offsetDelta;
        Key = key;
        Value = value;
        Headers = headers;
    }

    /// <summary>Absolute offset: the batch's BaseOffset plus <see cref="OffsetDelta"/>.</summary>
    public long Offset { get; }

    /// <summary>
    /// Absolute timestamp: BaseTimestamp plus <see cref="TimestampDelta"/>, or the batch's MaxTimestamp when the
    /// batch uses log-append time (DefaultRecordBatch.java applies the same rule).
    /// </summary>
    public long Timestamp { get; }

    /// <summary>Record-level attributes; unused by Kafka today and always written as 0.</summary>
    public sbyte Attributes { get; }

    /// <summary>Timestamp relative to the batch's BaseTimestamp, as stored on the wire.</summary>
    public long TimestampDelta { get; }

    /// <summary>Offset relative to the batch's BaseOffset, as stored on the wire.</summary>
    public int OffsetDelta { get; }

    /// <summary>The key, or null when the wire length was -1.</summary>
    public byte[]? Key { get; }

    /// <summary>The value, or null (a tombstone) when the wire length was -1.</summary>
    public byte[]? Value { get; }

    /// <summary>The headers in wire order; empty when there are none.</summary>
    public IReadOnlyList<RecordHeader> Headers { get; }
}
