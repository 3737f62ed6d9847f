using System.Buffers.Binary;
using Lockstep.Protocol.Records;

namespace Lockstep.Storage.Tests;

/// <summary>
/// Builds magic-2 record batches by hand (header via <see cref="RecordBatchHeader.Write"/>, CRC via
/// <see cref="Crc32C"/>) with uncompressed records in the v2 record layout, so that the storage tests do not
/// depend on a producer implementation.
/// </summary>
internal static class TestBatches
{
    /// <summary>
    /// A batch of <paramref name="recordCount"/> records with BaseOffset 0 (the log assigns it); record i has
    /// timestamp <c>baseTimestamp + i</c> and a value of <paramref name="valueSize"/> bytes filled with
    /// <paramref name="fill"/>.
    /// </summary>
    public static byte[] Create(int recordCount = 1, long baseTimestamp = 1_000, int valueSize = 16, byte fill = 0xAB,
        long? maxTimestamp = null)
    {
        var records = new List<byte>();
        for (var i = 0; i < recordCount; i++)
        {
            var body = new List<byte> { 0 }; // attributes
            WriteVarLong(body, i); // timestampDelta
            WriteVarLong(body, i); // offsetDelta
            WriteVarLong(body, -1); // null key
            WriteVarLong(body, valueSize);
            body.AddRange(Enumerable.Repeat(fill, valueSize));
            WriteVarLong(body, 0); // no headers
            WriteVarLong(records, body.Count);
            records.AddRange(body);
        }

        var batch = new byte[RecordBatchHeader.Size + records.Count];
        var header = new RecordBatchHeader(
            BaseOffset: 0,
            BatchLength: batch.Length - RecordBatchHeader.LogOverhead,
            PartitionLeaderEpoch: 0,
            Magic: RecordBatchHeader.CurrentMagic,
            Crc: 0,
            Attributes: 0,
            LastOffsetDelta: recordCount - 1,
            BaseTimestamp: baseTimestamp,
            MaxTimestamp: maxTimestamp ?? baseTimestamp + recordCount - 1,
            ProducerId: RecordBatchHeader.NoProducerId,
            ProducerEpoch: -1,
            BaseSequence: RecordBatchHeader.NoSequence,
            RecordCount: recordCount);
        header.Write(batch);
        records.CopyTo(batch, RecordBatchHeader.Size);
        SealCrc(batch);
        return batch;
    }

    /// <summary>Recomputes the CRC after a test edited CRC-covered bytes on purpose.</summary>
    public static void SealCrc(Span<byte> batch) =>
        BinaryPrimitives.WriteUInt32BigEndian(batch[RecordBatchHeader.CrcOffset..],
            Crc32C.Compute(batch[RecordBatchHeader.AttributesOffset..]));

    /// <summary>Splits back-to-back batches into their headers, checking each CRC on the way.</summary>
    public static List<RecordBatchHeader> Parse(ReadOnlySpan<byte> bytes)
    {
        var headers = new List<RecordBatchHeader>();
        while (!bytes.IsEmpty)
        {
            var header = RecordBatchHeader.Read(bytes);
            Assert.True(Crc32C.IsValidBatch(bytes[..header.TotalSize]), $"CRC of batch at offset {header.BaseOffset}");
            headers.Add(header);
            bytes = bytes[header.TotalSize..];
        }

        return headers;
    }

    private static void WriteVarLong(List<byte> output, long value)
    {
        var zigzag = (ulong)((value << 1) ^ (value >> 63));
        while (zigzag >= 0x80)
        {
            output.Add((byte)(zigzag | 0x80));
            zigzag >>= 7;
        }

        output.Add((byte)zigzag);
    }
}
