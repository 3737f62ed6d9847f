using System;
using Lockstep.Protocol;
using Lockstep.Protocol.Records;

namespace Lockstep.Broker.Partitions;

/// <summary>
/// Checks the RECORDS of one produce partition before anything is appended, with Kafka's error codes
/// (<c>ProduceRequest.validateRecords</c>, <c>UnifiedLog.analyzeAndValidateRecords</c> and
/// <c>LogValidator.validateBatch/validateRecord</c> at the pinned commit).
/// </summary>
internal static class ProduceValidation
{
    /// <summary>The outcome: an error with a message, or the header of the single valid batch.</summary>
    /// <param name="Error">None when the batch may be appended.</param>
    /// <param name="Message">Why not.</param>
    /// <param name="Header">The batch header (valid only when <paramref name="Error"/> is None).</param>
    internal readonly record struct Result(ErrorCode Error, string? Message, RecordBatchHeader Header);

    /// <summary>Validates <paramref name="records"/> (see the checks in the body, in Kafka's order).</summary>
    /// <param name="records">The partition's RECORDS field.</param>
    /// <param name="maxMessageBytes">The topic's <c>max.message.bytes</c>.</param>
    /// <param name="produceVersion">The request version (zstd needs v7+).</param>
    /// <param name="codecs">Codecs to decompress the batch for record-level checks.</param>
    public static Result Validate(ReadOnlySpan<byte> records, int maxMessageBytes, short produceVersion, CompressionCodecRegistry codecs)
    {
        // ProduceRequest.validateRecords: v3+ carries exactly one magic-2 batch (InvalidRecordException).
        if (records.Length < RecordBatchHeader.LogOverhead + 5)
        {
            return Fail(records.IsEmpty ? ErrorCode.InvalidRecord : ErrorCode.CorruptMessage,
                "Produce v3+ requires exactly one record batch; the records are empty or truncated.");
        }

        if ((sbyte)records[16] != RecordBatchHeader.CurrentMagic)
        {
            return Fail(ErrorCode.InvalidRecord, $"Produce v3+ requires magic 2 record batches; got magic {(sbyte)records[16]}.");
        }

        RecordBatchHeader header;
        try
        {
            header = RecordBatchHeader.Read(records);
        }
        catch (KafkaProtocolException e)
        {
            return Fail(ErrorCode.CorruptMessage, e.Message);
        }

        if ((long)header.TotalSize > records.Length)
        {
            return Fail(ErrorCode.CorruptMessage,
                $"Record batch declares {header.TotalSize} bytes but only {records.Length} were sent.");
        }

        if (header.TotalSize < records.Length)
        {
            return Fail(ErrorCode.InvalidRecord, "Produce v3+ requests may contain only one record batch per partition.");
        }

        // analyzeAndValidateRecords, in order: base offset, size, then CRC (batch.ensureValid()).
        if (header.BaseOffset != 0)
        {
            return Fail(ErrorCode.InvalidRecord, $"The base offset of a produced batch must be 0, not {header.BaseOffset}.");
        }

        if (header.TotalSize > maxMessageBytes)
        {
            return Fail(ErrorCode.MessageTooLarge,
                $"The batch is {header.TotalSize} bytes, larger than max.message.bytes={maxMessageBytes}.");
        }

        try
        {
            RecordBatchReader.Validate(records);
        }
        catch (KafkaProtocolException e)
        {
            return Fail(ErrorCode.CorruptMessage, e.Message);
        }

        // LogValidator.validateBatch (client batches).
        if (header.IsControl)
        {
            return Fail(ErrorCode.InvalidRecord, "Clients may not produce control batches.");
        }

        if (header.LastOffsetDelta < 0 || header.RecordCount <= 0 || header.LastOffsetDelta + 1 != header.RecordCount)
        {
            return Fail(ErrorCode.InvalidRecord,
                $"Inconsistent batch: last offset delta {header.LastOffsetDelta} with record count {header.RecordCount}.");
        }

        if (header.ProducerId != RecordBatchHeader.NoProducerId && header.BaseSequence < 0)
        {
            return Fail(ErrorCode.InvalidRecord, $"Batch of producer {header.ProducerId} has invalid sequence {header.BaseSequence}.");
        }

        if (header.Compression == CompressionType.Zstd && produceVersion < 7)
        {
            // KafkaApis: zstd needs Produce v7+ (KIP-110).
            return Fail(ErrorCode.UnsupportedCompressionType, "zstd-compressed batches require Produce v7 or later.");
        }

        if (!codecs.Supports(header.Compression))
        {
            return Fail(ErrorCode.UnsupportedCompressionType, $"Compression {header.Compression} is not supported.");
        }

        // LogValidator.validateRecord: every record parses and inner offsets count up from 0.
        try
        {
            var reader = RecordBatchReader.Create(records, codecs);
            try
            {
                var expected = 0;
                while (reader.TryReadNext(out var record))
                {
                    if (record.OffsetDelta != expected)
                    {
                        return Fail(ErrorCode.InvalidRecord, $"Record {expected} has offset delta {record.OffsetDelta}.");
                    }

                    expected++;
                }
            }
            finally
            {
                reader.Dispose();
            }
        }
        catch (KafkaProtocolException e)
        {
            return Fail(ErrorCode.CorruptMessage, e.Message);
        }

        return new Result(ErrorCode.None, null, header);
    }

    private static Result Fail(ErrorCode error, string message) => new(error, message, default);
}
