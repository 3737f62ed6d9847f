using System;
using System.Collections.Generic;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;

namespace Lockstep.Client.Consumer;

/// <summary>
/// Turns one partition's Fetch response data into consumer records: decodes the batches (decompressing with the
/// four Kafka codecs), drops records below the fetch offset (a compressed batch may start earlier), skips control
/// batches, and in read_committed mode drops aborted transactions exactly as kip939-spec.md §8.7 and Java's
/// <c>CompletedFetch.nextFetchedRecord</c> do.
/// </summary>
internal static class FetchDecoder
{
    /// <summary>
    /// Appends the visible records at or after <paramref name="fetchOffset"/> to <paramref name="output"/> and
    /// returns the next fetch offset: one past the last <em>complete</em> batch, so control batches and aborted
    /// batches advance the position too (a trailing COMMIT marker at offset n leaves the position at n + 1, which is
    /// what must be committed). A partial trailing batch (cut at the size limit) is left for the next fetch.
    /// </summary>
    public static long Decode(
        TopicPartition partition,
        ReadOnlySpan<byte> records,
        IReadOnlyList<FetchResponse.AbortedTransaction>? abortedTransactions,
        bool readCommitted,
        long fetchOffset,
        CompressionCodecRegistry codecs,
        List<ConsumeResult> output)
    {
        var nextOffset = fetchOffset;
        var batches = RecordBatch.ReadAll(records, codecs, allowPartialTrailingBatch: true);

        // §8.7: a min-heap of the aborted transactions by FirstOffset, and the set of producers whose aborted
        // transaction has started (by offset) and whose ABORT marker has not been reached yet.
        var aborted = new PriorityQueue<FetchResponse.AbortedTransaction, long>();
        if (readCommitted && abortedTransactions is not null)
        {
            foreach (var txn in abortedTransactions)
            {
                aborted.Enqueue(txn, txn.FirstOffset);
            }
        }

        var abortedProducerIds = new HashSet<long>();
        foreach (var batch in batches)
        {
            var header = batch.Header;
            if (header.LastOffset < fetchOffset)
            {
                // Entirely before the position (the broker returns whole batches from the segment).
                continue;
            }

            nextOffset = Math.Max(nextOffset, header.LastOffset + 1);
            if (readCommitted && header.ProducerId != RecordBatchHeader.NoProducerId)
            {
                while (aborted.TryPeek(out var txn, out var first) && first <= header.LastOffset)
                {
                    aborted.Dequeue();
                    abortedProducerIds.Add(txn.ProducerId);
                }

                if (IsAbortMarker(batch))
                {
                    // The aborted transaction of this producer ends here; its later batches are a new transaction.
                    abortedProducerIds.Remove(header.ProducerId);
                }
                else if (header.IsTransactional && abortedProducerIds.Contains(header.ProducerId))
                {
                    continue;
                }
            }

            if (header.IsControl)
            {
                // Control records (transaction markers) are never returned; they only advance the position.
                continue;
            }

            foreach (var record in batch.Records)
            {
                if (record.Offset < fetchOffset)
                {
                    continue;
                }

                output.Add(new ConsumeResult(partition.Topic, partition.Partition, record.Offset, record.Key,
                    record.Value, record.Headers, record.Timestamp, header.IsLogAppendTime, header.PartitionLeaderEpoch));
            }
        }

        return nextOffset;
    }

    /// <summary>Java's <c>containsAbortMarker</c>: a control batch whose first record's key type is ABORT.</summary>
    private static bool IsAbortMarker(RecordBatch batch)
    {
        if (!batch.Header.IsControl || batch.Records.Count == 0 || batch.Records[0].Key is not { } key)
        {
            return false;
        }

        return ControlRecordKey.Read(key).Type == ControlRecordType.Abort;
    }
}
