// ListOffsets (key 2) — versions 1-7.
//
// Behaviour:
// - Timestamp -2 (earliest) → the log start offset; -1 (latest) → the high watermark, or the last stable offset
//   when IsolationLevel = 1 (read_committed, v2+); -3 (max timestamp, KIP-734, v7+) → the record with the largest
//   timestamp below the high watermark; otherwise the first batch at or after the timestamp, found through the time
//   index (PartitionLog.FindOffsetByTimestamp: the batch's base offset with its max timestamp). No match → -1/-1.
//   Special lookups answer timestamp -1, as Kafka does.
// - LeaderEpoch (v4+) is always 0. CurrentLeaderEpoch above 0 → UNKNOWN_LEADER_EPOCH, below (not -1) →
//   FENCED_LEADER_EPOCH. Unknown topic/partition → UNKNOWN_TOPIC_OR_PARTITION.
// - ReplicaId is ignored (no followers).
// Version notes: v1 dropped MaxNumOffsets; v2 IsolationLevel; v4 leader epochs; v6 flexible; v7 max timestamp.
// v8 (-4 earliest-local, tiered storage) and later are not advertised.
using System;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;
using Lockstep.Storage;

namespace Lockstep.Broker.Handlers;

/// <summary>Translates timestamps (and the special earliest/latest/max values) to offsets.</summary>
internal sealed class ListOffsetsHandler(BrokerCore core) : ApiHandler<ListOffsetsRequest, ListOffsetsResponse>
{
    private const long MaxTimestamp = -3;

    /// <inheritdoc />
    public override short MinVersion => 1;

    /// <inheritdoc />
    public override short MaxVersion => 7;

    /// <inheritdoc />
    protected override ValueTask<ListOffsetsResponse?> HandleAsync(
        RequestContext context, ListOffsetsRequest request, CancellationToken cancellationToken)
    {
        var response = new ListOffsetsResponse();
        foreach (var topic in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topic.Name };
            response.Topics.Add(topicResponse);
            foreach (var p in topic.Partitions)
            {
                topicResponse.Partitions.Add(Lookup(context.ApiVersion, request.IsolationLevel, topic.Name, p));
            }
        }

        return ValueTask.FromResult<ListOffsetsResponse?>(response);
    }

    private ListOffsetsResponse.ListOffsetsPartitionResponse Lookup(
        short version, sbyte isolationLevel, string topic, ListOffsetsRequest.ListOffsetsPartition p)
    {
        var result = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = p.PartitionIndex };
        if (!core.Topics.TryGetPartition(topic, p.PartitionIndex, out var partition))
        {
            result.ErrorCode = (short)ErrorCode.UnknownTopicOrPartition;
            return result;
        }

        if (p.CurrentLeaderEpoch != -1 && p.CurrentLeaderEpoch != Partition.LeaderEpoch)
        {
            result.ErrorCode = (short)(p.CurrentLeaderEpoch > Partition.LeaderEpoch
                ? ErrorCode.UnknownLeaderEpoch
                : ErrorCode.FencedLeaderEpoch);
            return result;
        }

        var log = partition.Log;
        var limit = isolationLevel == 1 ? log.LastStableOffset : log.HighWatermark;
        TimestampOffset? found;
        try
        {
            found = p.Timestamp switch
            {
                PartitionLog.EarliestTimestamp => new TimestampOffset(-1, log.LogStartOffset),
                PartitionLog.LatestTimestamp => new TimestampOffset(-1, limit),
                MaxTimestamp when version >= 7 => FindMaxTimestamp(log, limit),
                < 0 => null,
                _ => log.FindOffsetByTimestamp(p.Timestamp, limit),
            };
        }
        catch (ObjectDisposedException)
        {
            result.ErrorCode = (short)ErrorCode.NotLeaderOrFollower;
            return result;
        }

        result.Timestamp = found?.Timestamp ?? -1;
        result.Offset = found?.Offset ?? -1;
        if (version >= 4)
        {
            // LeaderEpoch exists from v4 only; a non-default value at v1-3 cannot be encoded (kcat -C uses v2,
            // kafkajs v3, kafka-python 2.0.2 v1: tests/Lockstep.Interop.Tests/FINDINGS.md).
            result.LeaderEpoch = Partition.LeaderEpoch;
        }

        return result;
    }

    /// <summary>
    /// KIP-734: the offset and timestamp of the record with the largest timestamp (the first such record when
    /// several share it). Kafka answers from the segments' max-timestamp bookkeeping; storage keeps none, so this
    /// scans batch headers (MaxTimestamp) and then decodes only the winning batch to find the record. Rare, admin-only.
    /// </summary>
    private TimestampOffset? FindMaxTimestamp(PartitionLog log, long limit)
    {
        long bestTimestamp = -1, bestBase = -1;
        var offset = log.LogStartOffset;
        while (offset < limit)
        {
            using var read = log.Read(offset, 1 << 20, limit);
            var records = read.Records.Span;
            if (records.IsEmpty)
            {
                break;
            }

            while (records.Length >= RecordBatchHeader.Size)
            {
                var header = RecordBatchHeader.Read(records);
                if (header.LastOffset >= offset && header.MaxTimestamp > bestTimestamp)
                {
                    bestTimestamp = header.MaxTimestamp;
                    bestBase = header.BaseOffset;
                }

                offset = Math.Max(offset, header.LastOffset + 1);
                records = records[Math.Min(header.TotalSize, records.Length)..];
            }
        }

        if (bestBase < 0)
        {
            return null;
        }

        using var batch = log.Read(bestBase, 1, limit);
        var reader = RecordBatchReader.Create(batch.Records.Span, core.Codecs);
        try
        {
            while (reader.TryReadNext(out var record))
            {
                if (record.Timestamp == bestTimestamp)
                {
                    return new TimestampOffset(bestTimestamp, record.Offset);
                }
            }
        }
        finally
        {
            reader.Dispose();
        }

        return new TimestampOffset(bestTimestamp, bestBase);
    }
}
