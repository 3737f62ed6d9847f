using System;
using System.Buffers.Binary;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Records;

/// <summary>
/// Reads one magic-2 record batch: validates its length and CRC-32C, decompresses the records through a
/// <see cref="CompressionCodecRegistry"/> and enumerates them as <see cref="RecordView"/>s without per-record heap
/// allocation. Dispose it to return the decompression buffer to the pool.
/// </summary>
/// <remarks>
/// <para>Validation follows Kafka's <c>DefaultRecordBatch.java</c> and <c>DefaultRecord.java</c>: a batch shorter
/// than its BatchLength, a CRC mismatch, a negative record count, a record whose declared size disagrees with its
/// fields, a negative length other than -1, a negative header count or header key length, a record that runs past
/// the batch, and bytes left over after RecordCount records all raise <see cref="KafkaProtocolException"/>.</para>
/// <para>Allocation guard: the record count is checked against the bytes that could hold that many records
/// (each record needs at least <see cref="MinRecordSize"/> bytes) before anything is sized from it, and
/// decompression is capped by <see cref="CompressionCodecRegistry.MaxDecompressedBytes"/>.</para>
/// </remarks>
public ref struct RecordBatchReader
{
    /// <summary>
    /// The smallest possible encoded record: length, attributes, timestampDelta, offsetDelta, key length, value
    /// length and header count, one byte each.
    /// </summary>
    public const int MinRecordSize = 7;

    private readonly RecordBatchHeader _header;
    private readonly bool _ownsBuffer;
    private PooledBufferWriter? _buffer;
    private KafkaReader _records;
    private int _read;

    private RecordBatchReader(
        RecordBatchHeader header,
        ReadOnlySpan<byte> records,
        PooledBufferWriter? buffer,
        bool ownsBuffer)
    {
        _header = header;
        _records = new KafkaReader(records);
        _buffer = buffer;
        _ownsBuffer = ownsBuffer;
        _read = 0;
    }

    /// <summary>The batch header.</summary>
    public readonly RecordBatchHeader Header => _header;

    /// <summary>Bytes the batch occupies in the input (<see cref="RecordBatchHeader.TotalSize"/>).</summary>
    public readonly int Size => _header.TotalSize;

    /// <summary>Records read so far.</summary>
    public readonly int RecordsRead => _read;

    /// <summary>
    /// Validates the batch at the start of <paramref name="batch"/> (which may be followed by other batches) and
    /// prepares to read its records.
    /// </summary>
    /// <param name="batch">Bytes starting at a batch's BaseOffset field.</param>
    /// <param name="codecs">Codecs for compressed batches; <see cref="CompressionCodecRegistry.None"/> reads only
    /// uncompressed ones.</param>
    /// <param name="decompressionBuffer">Optional caller-owned buffer that receives the decompressed records (it
    /// is cleared first and must outlive the reader); when null and the batch is compressed, the reader rents one
    /// and returns it in <see cref="Dispose"/>.</param>
    public static RecordBatchReader Create(
        ReadOnlySpan<byte> batch,
        CompressionCodecRegistry codecs,
        PooledBufferWriter? decompressionBuffer = null)
    {
        ArgumentNullException.ThrowIfNull(codecs);
        var header = Validate(batch);
        var payload = batch[RecordBatchHeader.Size..header.TotalSize];
        var compression = header.Compression;
        if (compression == CompressionType.None)
        {
            CheckRecordCount(header, payload.Length);
            return new RecordBatchReader(header, payload, null, ownsBuffer: false);
        }

        var owns = decompressionBuffer is null;
        var buffer = decompressionBuffer ?? new PooledBufferWriter(Math.Min(payload.Length * 4, 1 << 20));
        try
        {
            buffer.Clear();
            codecs.Decompress(compression, payload, buffer);
            CheckRecordCount(header, buffer.WrittenCount);
            return new RecordBatchReader(header, buffer.WrittenSpan, buffer, owns);
        }
        catch
        {
            if (owns)
            {
                buffer.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Checks the batch framing and CRC without reading records: the header parses, the buffer holds
    /// BatchLength + 12 bytes, the CRC-32C over Attributes..end matches, the codec id is assigned and the record
    /// count is not negative. Returns the header.
    /// </summary>
    public static RecordBatchHeader Validate(ReadOnlySpan<byte> batch)
    {
        var header = RecordBatchHeader.Read(batch);
        if ((uint)header.BatchLength > (uint)(int.MaxValue - RecordBatchHeader.LogOverhead) ||
            header.TotalSize > batch.Length)
        {
            ThrowHelper.ThrowProtocol(
                $"Record batch declares {header.BatchLength} byte(s) after its length field but only " +
                $"{batch.Length - RecordBatchHeader.LogOverhead} remain.");
        }

        var crc = Crc32C.Compute(batch[RecordBatchHeader.AttributesOffset..header.TotalSize]);
        if (crc != header.Crc)
        {
            ThrowHelper.ThrowProtocol(
                $"Record batch at base offset {header.BaseOffset} is corrupt: stored CRC 0x{header.Crc:X8}, " +
                $"computed 0x{crc:X8}.");
        }

        if ((int)header.Compression > (int)CompressionType.Zstd)
        {
            ThrowHelper.ThrowProtocol($"Record batch uses unknown compression type {(int)header.Compression}.");
        }

        if (header.RecordCount < 0)
        {
            ThrowHelper.ThrowProtocol($"Record batch has a negative record count {header.RecordCount}.");
        }

        return header;
    }

    private static void CheckRecordCount(RecordBatchHeader header, int recordBytes)
    {
        if ((long)header.RecordCount * MinRecordSize > recordBytes)
        {
            ThrowHelper.ThrowProtocol(
                $"Record batch declares {header.RecordCount} record(s) but its {recordBytes} record byte(s) " +
                "cannot hold that many.");
        }
    }

    /// <summary>
    /// Reads the next record. Returns false after RecordCount records, having checked that no bytes remain
    /// (Kafka: "Incorrect declared batch size").
    /// </summary>
    public bool TryReadNext(out RecordView record)
    {
        if (_read >= _header.RecordCount)
        {
            if (!_records.End)
            {
                ThrowHelper.ThrowProtocol(
                    $"Record batch holds {_records.Remaining} byte(s) after its {_header.RecordCount} declared " +
                    "record(s).");
            }

            record = default;
            return false;
        }

        var length = _records.ReadVarInt();
        if (length < 0)
        {
            ThrowHelper.ThrowProtocol($"Record {_read} has a negative size {length}.");
        }

        var body = new KafkaReader(_records.ReadRawSpan(length));
        var attributes = body.ReadInt8();
        var timestampDelta = body.ReadVarLong();
        var offsetDelta = body.ReadVarInt();
        var key = ReadNullableBytes(ref body, "key", out var keyIsNull);
        var value = ReadNullableBytes(ref body, "value", out var valueIsNull);
        var headerCount = body.ReadVarInt();
        if (headerCount < 0)
        {
            ThrowHelper.ThrowProtocol($"Record {_read} has an invalid header count {headerCount}.");
        }

        // Each header needs at least a key length and a value length byte.
        if ((long)headerCount * 2 > body.Remaining)
        {
            ThrowHelper.ThrowProtocol(
                $"Record {_read} declares {headerCount} header(s) but only {body.Remaining} byte(s) remain.");
        }

        var headersStart = body.Position;
        var headerBytes = body.UnreadSpan;
        for (var i = 0; i < headerCount; i++)
        {
            var keyLength = body.ReadVarInt();
            if (keyLength < 0)
            {
                ThrowHelper.ThrowProtocol($"Record {_read} header {i} has a negative key length {keyLength}.");
            }

            body.Skip(keyLength);
            ReadNullableBytes(ref body, "header value", out _);
        }

        if (!body.End)
        {
            // DefaultRecord.readFrom: "Invalid record size: expected to read X bytes in record payload".
            ThrowHelper.ThrowProtocol(
                $"Record {_read} declares {length} byte(s) but its fields end {body.Remaining} byte(s) early.");
        }

        headerBytes = headerBytes[..(body.Position - headersStart)];
        var timestamp = _header.IsLogAppendTime ? _header.MaxTimestamp : _header.BaseTimestamp + timestampDelta;
        record = new RecordView(
            _header.BaseOffset + offsetDelta,
            timestamp,
            attributes,
            timestampDelta,
            offsetDelta,
            key,
            keyIsNull,
            value,
            valueIsNull,
            headerBytes,
            headerCount);
        _read++;
        return true;
    }

    private static ReadOnlySpan<byte> ReadNullableBytes(scoped ref KafkaReader reader, string what, out bool isNull)
    {
        var length = reader.ReadVarInt();
        if (length < 0)
        {
            if (length != -1)
            {
                ThrowHelper.ThrowProtocol($"Record {what} has an invalid length {length}.");
            }

            isNull = true;
            return default;
        }

        isNull = false;
        return reader.ReadRawSpan(length);
    }

    /// <summary>Returns a rented decompression buffer to the pool; record spans become invalid.</summary>
    public void Dispose()
    {
        if (_ownsBuffer && _buffer is not null)
        {
            _buffer.Dispose();
        }

        _buffer = null;
        _records = default;
    }

    /// <summary>
    /// Reads the BatchLength of the batch at the start of <paramref name="records"/> and returns its total size,
    /// or -1 when fewer than 12 bytes remain. Used to walk a RECORDS field batch by batch.
    /// </summary>
    public static int PeekTotalSize(ReadOnlySpan<byte> records)
    {
        if (records.Length < RecordBatchHeader.LogOverhead)
        {
            return -1;
        }

        var length = BinaryPrimitives.ReadInt32BigEndian(records[8..]);
        if (length < RecordBatchHeader.Size - RecordBatchHeader.LogOverhead ||
            length > int.MaxValue - RecordBatchHeader.LogOverhead)
        {
            ThrowHelper.ThrowProtocol($"Record batch length {length} is invalid.");
        }

        return length + RecordBatchHeader.LogOverhead;
    }
}
