// Fetch (key 1) — versions 4-12.
//
// Behaviour:
// - Sessionless only (KIP-227 sessions are optional for a broker, client-compat.md trap 9): a full fetch
//   (SessionEpoch 0 or -1) is answered with SessionId 0, which every client treats as "no session"; an incremental
//   fetch (any other epoch) gets FETCH_SESSION_ID_NOT_FOUND, so the client falls back to a full fetch.
// - Whole batches: a fetch offset inside a batch returns the whole batch (the client skips the records below its
//   position). Up to PartitionMaxBytes per partition and MaxBytes in total; the first batch of the first partition
//   that has data is returned even when larger (Kafka's minOneMessage), later partitions get only what fits.
// - Reads stop at the high watermark (durable end in fsync mode), or at the last stable offset for
//   read_committed (IsolationLevel 1; kip939-spec.md §8.5-8.6). read_committed responses list the aborted
//   transactions {ProducerId, FirstOffset} overlapping the returned batches, from the segments' .txnindex
//   (PartitionLog.CollectAbortedTransactions, upper bound = the end of the returned data); the consumer drops their
//   batches (§8.7). Markers are returned as the control batches they are; clients skip them.
// - A read_committed fetch at the LSO long-polls like one at the HW: partitions wake waiters when an append or a
//   marker becomes durable, which is also when the LSO moves.
// - Long polling: when fewer than MinBytes are available the request waits up to MaxWaitMs, woken by appends (the
//   partition's append signal completes when an append becomes durable) — no polling loop. An error on any
//   partition answers at once, as Kafka's DelayedFetch does.
// - Errors per partition: UNKNOWN_TOPIC_OR_PARTITION; OFFSET_OUT_OF_RANGE (below the log start or above the log
//   end); CurrentLeaderEpoch above ours → UNKNOWN_LEADER_EPOCH, below (other than -1) → FENCED_LEADER_EPOCH
//   (Partition.checkCurrentLeaderEpoch). Error partitions carry HW/LSO/LogStartOffset -1, as Kafka's.
// - ReplicaId is ignored: a single node has no followers, every fetch is served as a consumer fetch.
// Version notes: v4+ LastStableOffset and AbortedTransactions (null for read_uncommitted, a possibly empty list
// for read_committed, as KafkaApis sets them); v5+ LogStartOffset; v7+ sessions; v9+ CurrentLeaderEpoch; v11+
// PreferredReadReplica (-1) and RackId (ignored); v12 flexible. v13+ (topic ids) are not advertised yet.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;
using Lockstep.Storage;

namespace Lockstep.Broker.Handlers;

/// <summary>Serves record batches to consumers, with long polling woken by appends.</summary>
internal sealed class FetchHandler(BrokerCore core) : ApiHandler<FetchRequest, FetchResponse>
{
    private const sbyte ReadCommitted = 1;

    /// <inheritdoc />
    public override short MinVersion => 4;

    /// <inheritdoc />
    public override short MaxVersion => 12;

    /// <inheritdoc />
    protected override ValueTask<FetchResponse?> HandleAsync(
        RequestContext context, FetchRequest request, CancellationToken cancellationToken)
    {
        if (request.SessionEpoch is not (0 or -1))
        {
            // FetchManager.newContext: an incremental fetch for a session we never created.
            return ValueTask.FromResult<FetchResponse?>(new FetchResponse
            {
                ErrorCode = (short)ErrorCode.FetchSessionIdNotFound,
                SessionId = 0,
            });
        }

        var targets = new List<Target>();
        foreach (var topic in request.Topics)
        {
            foreach (var p in topic.Partitions)
            {
                core.Topics.TryGetPartition(topic.Topic, p.Partition, out var partition);
                targets.Add(new Target(topic.Topic, p, partition));
            }
        }

        // Take the append signals before the first read, so an append racing with the read still wakes us.
        var signals = TakeSignals(targets);
        var (response, bytes, anyError) = Read(request, targets);
        if (request.MaxWaitMs <= 0 || targets.Count == 0 || bytes >= request.MinBytes || anyError)
        {
            return ValueTask.FromResult<FetchResponse?>(response);
        }

        return LongPollAsync(request, targets, signals, cancellationToken);
    }

    private async ValueTask<FetchResponse?> LongPollAsync(
        FetchRequest request, List<Target> targets, List<Task> signals, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var expired = Task.Delay(TimeSpan.FromMilliseconds(request.MaxWaitMs), core.Time, timeout.Token);
        try
        {
            while (true)
            {
                signals.Add(expired);
                var woken = await Task.WhenAny(signals).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                signals = TakeSignals(targets);
                var (response, bytes, anyError) = Read(request, targets);
                if (woken == expired || bytes >= request.MinBytes || anyError)
                {
                    return response;
                }
            }
        }
        finally
        {
            await timeout.CancelAsync().ConfigureAwait(false);
        }
    }

    private static List<Task> TakeSignals(List<Target> targets)
    {
        var signals = new List<Task>(targets.Count + 1);
        foreach (var target in targets)
        {
            if (target.Partition is { } partition)
            {
                signals.Add(partition.WaitForChangeAsync());
            }
        }

        return signals;
    }

    private static (FetchResponse Response, long Bytes, bool AnyError) Read(FetchRequest request, List<Target> targets)
    {
        var response = new FetchResponse { SessionId = 0 };
        var remaining = (long)Math.Max(0, request.MaxBytes);
        var minOneMessage = true;
        long bytes = 0;
        var anyError = false;
        FetchResponse.FetchableTopicResponse? topicResponse = null;
        foreach (var target in targets)
        {
            if (topicResponse is null || topicResponse.Topic != target.Topic)
            {
                topicResponse = new FetchResponse.FetchableTopicResponse { Topic = target.Topic };
                response.Responses.Add(topicResponse);
            }

            var data = ReadPartition(request, target, ref remaining, ref minOneMessage);
            bytes += data.Records?.Length ?? 0;
            anyError |= data.ErrorCode != (short)ErrorCode.None;
            topicResponse.Partitions.Add(data);
        }

        return (response, bytes, anyError);
    }

    private static FetchResponse.PartitionData ReadPartition(
        FetchRequest request, Target target, ref long remaining, ref bool minOneMessage)
    {
        var p = target.Request;
        if (target.Partition is not { } partition)
        {
            return Error(p.Partition, ErrorCode.UnknownTopicOrPartition);
        }

        if (p.CurrentLeaderEpoch != -1 && p.CurrentLeaderEpoch != Partition.LeaderEpoch)
        {
            return Error(p.Partition, p.CurrentLeaderEpoch > Partition.LeaderEpoch
                ? ErrorCode.UnknownLeaderEpoch
                : ErrorCode.FencedLeaderEpoch);
        }

        var log = partition.Log;
        var readCommitted = request.IsolationLevel == ReadCommitted;

        // One LSO for both the read bound and the response, so the two agree.
        var lastStableOffset = log.LastStableOffset;
        var maxOffset = readCommitted ? lastStableOffset : log.HighWatermark;
        var limit = (int)Math.Min(Math.Max(0, p.PartitionMaxBytes), remaining);
        LogReadResult read;
        try
        {
            read = log.Read(p.FetchOffset, limit, maxOffset);
        }
        catch (OffsetOutOfRangeException)
        {
            return Error(p.Partition, ErrorCode.OffsetOutOfRange);
        }
        catch (ObjectDisposedException)
        {
            return Error(p.Partition, ErrorCode.NotLeaderOrFollower);
        }

        using (read)
        {
            var records = read.Records;
            if (records.Length > limit && !minOneMessage)
            {
                // Only the first partition with data may exceed the limits (Kafka's minOneMessage); later ones
                // return nothing rather than an oversized batch.
                records = ReadOnlyMemory<byte>.Empty;
            }

            List<FetchResponse.AbortedTransaction>? aborted = null;
            if (readCommitted)
            {
                aborted = [];
                if (records.Length > 0)
                {
                    foreach (var txn in partition.AbortedTransactions(p.FetchOffset, EndOffset(records.Span)))
                    {
                        aborted.Add(new FetchResponse.AbortedTransaction { ProducerId = txn.ProducerId, FirstOffset = txn.FirstOffset });
                    }
                }
            }

            if (records.Length > 0)
            {
                minOneMessage = false;
                remaining = Math.Max(0, remaining - records.Length);
            }

            return new FetchResponse.PartitionData
            {
                PartitionIndex = p.Partition,
                HighWatermark = read.HighWatermark,
                LastStableOffset = lastStableOffset,
                LogStartOffset = read.LogStartOffset,
                AbortedTransactions = aborted,
                PreferredReadReplica = -1,
                // The pooled buffer is returned when `read` is disposed; the response outlives it, so copy.
                Records = records.Length == 0 ? ReadOnlyMemory<byte>.Empty : records.ToArray(),
            };
        }
    }

    /// <summary>The offset after the last batch in <paramref name="records"/> (whole batches, back to back).</summary>
    private static long EndOffset(ReadOnlySpan<byte> records)
    {
        var end = -1L;
        while (records.Length >= RecordBatchHeader.Size)
        {
            var header = RecordBatchHeader.Read(records);
            end = header.LastOffset + 1;
            records = records[Math.Min(header.TotalSize, records.Length)..];
        }

        return end;
    }

    private static FetchResponse.PartitionData Error(int partition, ErrorCode error) => new()
    {
        PartitionIndex = partition,
        ErrorCode = (short)error,
        HighWatermark = -1,
        LastStableOffset = -1,
        LogStartOffset = -1,
        AbortedTransactions = null,
        PreferredReadReplica = -1,
        Records = ReadOnlyMemory<byte>.Empty,
    };

    private sealed record Target(string Topic, FetchRequest.FetchPartition Request, Partition? Partition);
}
