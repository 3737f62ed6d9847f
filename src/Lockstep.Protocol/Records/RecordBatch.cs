using System;
using System.Collections.Generic;

namespace Lockstep.Protocol.Records;

/// <summary>
/// A materialised record batch: its header and copied-out records. The convenient, allocating counterpart of
/// <see cref="RecordBatchReader"/>, for clients, tests and tools rather than the broker's hot path.
/// </summary>
public sealed class RecordBatch
{
    /// <summary>Creates a batch from a parsed header and its records.</summary>
    public RecordBatch(RecordBatchHeader header, IReadOnlyList<Record> records)
    {
        Header = header;
        Records = records;
    }

    /// <summary>The batch header as read (CRC already verified).</summary>
    public RecordBatchHeader Header { get; }

    /// <summary>The records in wire order.</summary>
    public IReadOnlyList<Record> Records { get; }

    /// <summary>
    /// Reads and validates the one batch at the start of <paramref name="batch"/> (see
    /// <see cref="RecordBatchReader"/> for what is checked).
    /// </summary>
    public static RecordBatch Read(ReadOnlySpan<byte> batch, CompressionCodecRegistry codecs)
    {
        using var reader = RecordBatchReader.Create(batch, codecs);
        // RecordCount was already checked against the record bytes, so it bounds this capacity.
        var records = new List<Record>(reader.Header.RecordCount);
        while (reader.TryReadNext(out var record))
        {
            records.Add(record.ToRecord());
        }

        return new RecordBatch(reader.Header, records);
    }

    /// <summary>
    /// Reads every batch of a RECORDS field (batches laid end to end).
    /// </summary>
    /// <param name="records">The concatenated batches.</param>
    /// <param name="codecs">Codecs for compressed batches.</param>
    /// <param name="allowPartialTrailingBatch">True for fetch responses, where the broker may cut the last batch
    /// short at the fetch size limit and clients skip the partial tail; false for produce requests, where a
    /// partial batch is corrupt.</param>
    public static List<RecordBatch> ReadAll(
        ReadOnlySpan<byte> records,
        CompressionCodecRegistry codecs,
        bool allowPartialTrailingBatch = false)
    {
        var batches = new List<RecordBatch>();
        while (!records.IsEmpty)
        {
            var size = RecordBatchReader.PeekTotalSize(records);
            if (size < 0 || size > records.Length)
            {
                if (allowPartialTrailingBatch)
                {
                    break;
                }

                ThrowHelper.ThrowTruncated(size < 0 ? RecordBatchHeader.LogOverhead : size, 0, records.Length);
            }

            batches.Add(Read(records[..size], codecs));
            records = records[size..];
        }

        return batches;
    }
}
