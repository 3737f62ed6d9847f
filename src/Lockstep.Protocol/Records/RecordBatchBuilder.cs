using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Records;

/// <summary>
/// Accumulates records and writes them as one magic-2 record batch, as Kafka's <c>MemoryRecordsBuilder.java</c>
/// does: offset deltas 0..n-1, timestamp deltas from the first record's timestamp (the BaseTimestamp), MaxTimestamp
/// the largest timestamp appended, LastOffsetDelta n-1, the records compressed as one block, and a CRC-32C over
/// Attributes..end.
/// </summary>
/// <remarks>
/// Not thread-safe. Records are encoded into a pooled buffer as they are appended; <see cref="WriteTo"/> can be
/// called more than once. Dispose returns the buffers to the pool.
/// </remarks>
public sealed class RecordBatchBuilder : IDisposable
{
    private readonly PooledBufferWriter _records = new(1024);
    private readonly CompressionCodecRegistry _codecs;

    // Compression output, kept between WriteTo calls: a new writer per batch was the only managed allocation this
    // type made on the build path of a compressed batch (issue 2 benchmarks, bench/allocation-budgets.json).
    private PooledBufferWriter? _compressed;
    private int _count;
    private long _baseTimestamp;
    private long _maxTimestamp = -1;

    /// <summary>
    /// Creates a builder whose batch is compressed with <paramref name="compression"/>, which must be registered in
    /// <paramref name="codecs"/> (or be <see cref="CompressionType.None"/>).
    /// </summary>
    public RecordBatchBuilder(
        CompressionType compression = CompressionType.None,
        CompressionCodecRegistry? codecs = null)
    {
        _codecs = codecs ?? CompressionCodecRegistry.None;
        if (!_codecs.Supports(compression))
        {
            throw new ArgumentException($"No codec registered for {compression}.", nameof(compression));
        }

        Compression = compression;
    }

    /// <summary>The batch's compression codec (attribute bits 0-2).</summary>
    public CompressionType Compression { get; }

    /// <summary>BaseOffset written in the header; producers send 0 and the broker assigns the real one.</summary>
    public long BaseOffset { get; set; }

    /// <summary>PartitionLeaderEpoch written in the header; producers send -1.</summary>
    public int PartitionLeaderEpoch { get; set; } = -1;

    /// <summary>Producer id (-1 for a non-idempotent producer).</summary>
    public long ProducerId { get; set; } = RecordBatchHeader.NoProducerId;

    /// <summary>Producer epoch (-1 for a non-idempotent producer).</summary>
    public short ProducerEpoch { get; set; } = -1;

    /// <summary>Sequence number of the first record (-1 for a non-idempotent producer).</summary>
    public int BaseSequence { get; set; } = RecordBatchHeader.NoSequence;

    /// <summary>Sets attribute bit 4: the batch is part of a transaction (KIP-98).</summary>
    public bool IsTransactional { get; set; }

    /// <summary>Sets attribute bit 5: the batch holds a control record (see <see cref="ControlBatch"/>).</summary>
    public bool IsControl { get; set; }

    /// <summary>Sets attribute bit 3: timestamps are log-append times (written by brokers, not producers).</summary>
    public bool IsLogAppendTime { get; set; }

    /// <summary>Records appended so far.</summary>
    public int Count => _count;

    /// <summary>Uncompressed size of the records appended so far, excluding the 61-byte header.</summary>
    public int RecordsSizeInBytes => _records.WrittenCount;

    /// <summary>
    /// Appends a record with non-null key and value (use the other overload for nulls). Its offset delta is the
    /// number of records before it.
    /// </summary>
    public void Append(
        long timestamp,
        ReadOnlySpan<byte> key,
        bool keyIsNull,
        ReadOnlySpan<byte> value,
        bool valueIsNull,
        ReadOnlySpan<RecordHeader> headers)
    {
        if (_count == int.MaxValue)
        {
            throw new InvalidOperationException("A record batch cannot hold more than int.MaxValue records.");
        }

        if (_count == 0)
        {
            _baseTimestamp = timestamp;
        }

        var timestampDelta = timestamp - _baseTimestamp;
        var offsetDelta = _count;
        long bodySize = 1 + KafkaWriter.ZigZagVarLongSize(timestampDelta) + KafkaWriter.ZigZagVarIntSize(offsetDelta);
        bodySize += NullableBytesSize(key.Length, keyIsNull) + NullableBytesSize(value.Length, valueIsNull);
        bodySize += KafkaWriter.ZigZagVarIntSize(headers.Length);
        foreach (var header in headers)
        {
            ArgumentNullException.ThrowIfNull(header.Key, nameof(headers));
            var keyBytes = Encoding.UTF8.GetByteCount(header.Key);
            bodySize += KafkaWriter.ZigZagVarIntSize(keyBytes) + keyBytes;
            bodySize += NullableBytesSize(header.Value?.Length ?? 0, header.Value is null);
        }

        if (bodySize > int.MaxValue - 5 - _records.WrittenCount)
        {
            throw new InvalidOperationException("The record batch would exceed 2 GiB.");
        }

        var writer = new KafkaWriter(_records);
        writer.WriteVarInt((int)bodySize);
        writer.WriteInt8(0);
        writer.WriteVarLong(timestampDelta);
        writer.WriteVarInt(offsetDelta);
        WriteNullableBytes(ref writer, key, keyIsNull);
        WriteNullableBytes(ref writer, value, valueIsNull);
        writer.WriteVarInt(headers.Length);
        foreach (var header in headers)
        {
            WriteUtf8(ref writer, header.Key);
            WriteNullableBytes(ref writer, header.Value, header.Value is null);
        }

        writer.Flush();
        _count++;
        _maxTimestamp = _count == 1 ? timestamp : Math.Max(_maxTimestamp, timestamp);
    }

    /// <summary>
    /// Appends a record; a null <paramref name="key"/> or <paramref name="value"/> is written as length -1.
    /// </summary>
    public void Append(long timestamp, byte[]? key, byte[]? value, params ReadOnlySpan<RecordHeader> headers) =>
        Append(timestamp, key, key is null, value, value is null, headers);

    private static long NullableBytesSize(int length, bool isNull) =>
        isNull ? 1 : KafkaWriter.ZigZagVarIntSize(length) + (long)length;

    private static void WriteNullableBytes(ref KafkaWriter writer, ReadOnlySpan<byte> bytes, bool isNull)
    {
        if (isNull)
        {
            writer.WriteVarInt(-1);
            return;
        }

        writer.WriteVarInt(bytes.Length);
        writer.WriteRaw(bytes);
    }

    private static void WriteUtf8(ref KafkaWriter writer, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        writer.WriteVarInt(length);
        if (length <= 256)
        {
            Span<byte> scratch = stackalloc byte[256];
            Encoding.UTF8.GetBytes(value, scratch);
            writer.WriteRaw(scratch[..length]);
            return;
        }

        var rented = ArrayPool<byte>.Shared.Rent(length);
        Encoding.UTF8.GetBytes(value, rented);
        writer.WriteRaw(rented.AsSpan(0, length));
        ArrayPool<byte>.Shared.Return(rented);
    }

    /// <summary>The attributes the header will carry.</summary>
    public short Attributes =>
        (short)((int)Compression
            | (IsLogAppendTime ? 0x08 : 0)
            | (IsTransactional ? 0x10 : 0)
            | (IsControl ? 0x20 : 0));

    /// <summary>
    /// Writes the batch (header, compressed records, CRC) to <paramref name="output"/> and returns its size in
    /// bytes. Requires at least one record: Kafka producers never send empty batches.
    /// </summary>
    public int WriteTo(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        var payload = _records.WrittenSpan;
        if (Compression != CompressionType.None)
        {
            var compressed = _compressed ??= new PooledBufferWriter(Math.Max(payload.Length / 2, 64));
            compressed.Clear();
            _codecs.Get(Compression).Compress(payload, compressed);
            payload = compressed.WrittenSpan;
        }

        if (payload.Length > int.MaxValue - RecordBatchHeader.Size)
        {
            throw new InvalidOperationException("The record batch would exceed 2 GiB.");
        }

        var total = RecordBatchHeader.Size + payload.Length;
        var span = output.GetSpan(total)[..total];
        var header = new RecordBatchHeader(
            BaseOffset: BaseOffset,
            BatchLength: total - RecordBatchHeader.LogOverhead,
            PartitionLeaderEpoch: PartitionLeaderEpoch,
            Magic: RecordBatchHeader.CurrentMagic,
            Crc: 0,
            Attributes: Attributes,
            LastOffsetDelta: _count - 1,
            BaseTimestamp: _baseTimestamp,
            MaxTimestamp: _maxTimestamp,
            ProducerId: ProducerId,
            ProducerEpoch: ProducerEpoch,
            BaseSequence: BaseSequence,
            RecordCount: _count);
        header.Write(span);
        payload.CopyTo(span[RecordBatchHeader.Size..]);
        var crc = Crc32C.Compute(span[RecordBatchHeader.AttributesOffset..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[RecordBatchHeader.CrcOffset..], crc);
        output.Advance(total);
        return total;
    }

    /// <summary>Writes the batch into a new array (convenience for tests and tools).</summary>
    public byte[] ToArray()
    {
        using var buffer = new PooledBufferWriter(RecordsSizeInBytes + RecordBatchHeader.Size);
        WriteTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>Forgets the appended records, keeping the header settings and the buffer.</summary>
    public void Reset()
    {
        _records.Clear();
        _count = 0;
        _baseTimestamp = 0;
        _maxTimestamp = -1;
    }

    /// <summary>Returns the record and compression buffers to the pool.</summary>
    public void Dispose()
    {
        _records.Dispose();
        _compressed?.Dispose();
    }
}
