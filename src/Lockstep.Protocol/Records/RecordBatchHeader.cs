using System;
using System.Buffers.Binary;

namespace Lockstep.Protocol.Records;

/// <summary>
/// The fixed 61-byte header of a magic-2 record batch (KIP-98), as laid out by Kafka's
/// <c>DefaultRecordBatch.java</c>. Storage and the broker read only this header on the append path; the records
/// after it are kept as received (issue 3: no re-compression).
/// </summary>
/// <remarks>
/// Layout (big-endian): BaseOffset int64 @0, BatchLength int32 @8 (bytes after this field), PartitionLeaderEpoch
/// int32 @12, Magic int8 @16, Crc uint32 @17 (CRC-32C of bytes 21..end), Attributes int16 @21, LastOffsetDelta
/// int32 @23, BaseTimestamp int64 @27, MaxTimestamp int64 @35, ProducerId int64 @43, ProducerEpoch int16 @51,
/// BaseSequence int32 @53, RecordCount int32 @57.
/// </remarks>
public readonly record struct RecordBatchHeader(
    long BaseOffset,
    int BatchLength,
    int PartitionLeaderEpoch,
    sbyte Magic,
    uint Crc,
    short Attributes,
    int LastOffsetDelta,
    long BaseTimestamp,
    long MaxTimestamp,
    long ProducerId,
    short ProducerEpoch,
    int BaseSequence,
    int RecordCount)
{
    /// <summary>Size of the header in bytes.</summary>
    public const int Size = 61;

    /// <summary>Bytes before the BatchLength field ends (BaseOffset + BatchLength); the log overhead.</summary>
    public const int LogOverhead = 12;

    /// <summary>Offset of the CRC field.</summary>
    public const int CrcOffset = 17;

    /// <summary>Offset where the CRC-covered bytes begin (the Attributes field).</summary>
    public const int AttributesOffset = 21;

    /// <summary>The only magic value Lockstep accepts (message format v2).</summary>
    public const sbyte CurrentMagic = 2;

    /// <summary>Producer id of a batch from a non-idempotent producer.</summary>
    public const long NoProducerId = -1;

    /// <summary>Sequence of a batch from a non-idempotent producer.</summary>
    public const int NoSequence = -1;

    /// <summary>Total bytes of the batch on the wire and on disk, header included.</summary>
    public int TotalSize => BatchLength + LogOverhead;

    /// <summary>Offset of the last record (BaseOffset + LastOffsetDelta).</summary>
    public long LastOffset => BaseOffset + LastOffsetDelta;

    /// <summary>Compression codec from attribute bits 0-2.</summary>
    public CompressionType Compression => (CompressionType)(Attributes & 0x07);

    /// <summary>Attribute bit 3: timestamps are log-append times.</summary>
    public bool IsLogAppendTime => (Attributes & 0x08) != 0;

    /// <summary>Attribute bit 4: the batch belongs to a transaction.</summary>
    public bool IsTransactional => (Attributes & 0x10) != 0;

    /// <summary>Attribute bit 5: the batch holds one control record (a commit or abort marker).</summary>
    public bool IsControl => (Attributes & 0x20) != 0;

    /// <summary>Attribute bit 6: the batch carries a delete horizon in BaseTimestamp (KIP-534).</summary>
    public bool HasDeleteHorizon => (Attributes & 0x40) != 0;

    /// <summary>Last sequence number in the batch, wrapping at int.MaxValue as Kafka does.</summary>
    public int LastSequence =>
        BaseSequence == NoSequence ? NoSequence
        : BaseSequence > int.MaxValue - LastOffsetDelta ? LastOffsetDelta - (int.MaxValue - BaseSequence) - 1
        : BaseSequence + LastOffsetDelta;

    /// <summary>
    /// Parses the header at the start of <paramref name="batch"/>. Checks that the buffer holds the whole header,
    /// that the magic is 2 and that BatchLength is plausible; it does not check the CRC (see
    /// <see cref="Crc32C"/>) or that the whole batch is present.
    /// </summary>
    public static RecordBatchHeader Read(ReadOnlySpan<byte> batch)
    {
        if (batch.Length < Size)
        {
            ThrowHelper.ThrowTruncated(Size, 0, batch.Length);
        }

        var header = new RecordBatchHeader(
            BaseOffset: BinaryPrimitives.ReadInt64BigEndian(batch),
            BatchLength: BinaryPrimitives.ReadInt32BigEndian(batch[8..]),
            PartitionLeaderEpoch: BinaryPrimitives.ReadInt32BigEndian(batch[12..]),
            Magic: (sbyte)batch[16],
            Crc: BinaryPrimitives.ReadUInt32BigEndian(batch[17..]),
            Attributes: BinaryPrimitives.ReadInt16BigEndian(batch[21..]),
            LastOffsetDelta: BinaryPrimitives.ReadInt32BigEndian(batch[23..]),
            BaseTimestamp: BinaryPrimitives.ReadInt64BigEndian(batch[27..]),
            MaxTimestamp: BinaryPrimitives.ReadInt64BigEndian(batch[35..]),
            ProducerId: BinaryPrimitives.ReadInt64BigEndian(batch[43..]),
            ProducerEpoch: BinaryPrimitives.ReadInt16BigEndian(batch[51..]),
            BaseSequence: BinaryPrimitives.ReadInt32BigEndian(batch[53..]),
            RecordCount: BinaryPrimitives.ReadInt32BigEndian(batch[57..]));

        if (header.Magic != CurrentMagic)
        {
            ThrowHelper.ThrowProtocol($"Unsupported record batch magic {header.Magic}; only magic 2 is supported.");
        }

        if (header.BatchLength < Size - LogOverhead)
        {
            ThrowHelper.ThrowProtocol($"Record batch length {header.BatchLength} is smaller than its header.");
        }

        return header;
    }

    /// <summary>
    /// Writes this header into the first <see cref="Size"/> bytes of <paramref name="destination"/>, exactly as
    /// given (the CRC is not recomputed; see <see cref="Crc32C"/>).
    /// </summary>
    public void Write(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            ThrowHelper.ThrowTruncated(Size, 0, destination.Length);
        }

        BinaryPrimitives.WriteInt64BigEndian(destination, BaseOffset);
        BinaryPrimitives.WriteInt32BigEndian(destination[8..], BatchLength);
        BinaryPrimitives.WriteInt32BigEndian(destination[12..], PartitionLeaderEpoch);
        destination[16] = (byte)Magic;
        BinaryPrimitives.WriteUInt32BigEndian(destination[17..], Crc);
        BinaryPrimitives.WriteInt16BigEndian(destination[21..], Attributes);
        BinaryPrimitives.WriteInt32BigEndian(destination[23..], LastOffsetDelta);
        BinaryPrimitives.WriteInt64BigEndian(destination[27..], BaseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(destination[35..], MaxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(destination[43..], ProducerId);
        BinaryPrimitives.WriteInt16BigEndian(destination[51..], ProducerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(destination[53..], BaseSequence);
        BinaryPrimitives.WriteInt32BigEndian(destination[57..], RecordCount);
    }

    /// <summary>
    /// Rewrites the BaseOffset of a batch in place (the broker assigns offsets on append). BaseOffset is outside
    /// the CRC, so the CRC stays valid.
    /// </summary>
    public static void SetBaseOffset(Span<byte> batch, long baseOffset) =>
        BinaryPrimitives.WriteInt64BigEndian(batch, baseOffset);

    /// <summary>
    /// Rewrites the PartitionLeaderEpoch in place; like BaseOffset it is outside the CRC.
    /// </summary>
    public static void SetPartitionLeaderEpoch(Span<byte> batch, int epoch) =>
        BinaryPrimitives.WriteInt32BigEndian(batch[12..], epoch);
}

/// <summary>Compression codec ids carried in record batch attribute bits 0-2.</summary>
public enum CompressionType
{
    /// <summary>No compression.</summary>
    None = 0,

    /// <summary>gzip (RFC 1952).</summary>
    Gzip = 1,

    /// <summary>Snappy, in Kafka's xerial framing as the Java client writes it.</summary>
    Snappy = 2,

    /// <summary>LZ4 frame format (KIP-57 corrected header checksum).</summary>
    Lz4 = 3,

    /// <summary>Zstandard (KIP-110).</summary>
    Zstd = 4,
}
