using System.Text;
using Lockstep.Broker.Coordinators.Transactions;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;
using Lockstep.Storage;
using TopicPartitionObject = Lockstep.Broker.Topics.Partition;

namespace Lockstep.Broker.Tests.Transactions.Partition;

/// <summary>
/// A stand-in for the transaction coordinator's produce-time verification: answers <see cref="Error"/> and records
/// every call, so tests see when (and with which add flag) the partition asked.
/// </summary>
internal sealed class FakeVerifier : ITransactionVerifier
{
    public ErrorCode Error { get; set; }

    public List<(string TransactionalId, long ProducerId, short Epoch, TopicPartition Partition, bool Add)> Calls { get; } = [];

    public TransactionVerification Verify(string transactionalId, long producerId, short producerEpoch, TopicPartition partition, bool addPartition)
    {
        lock (Calls)
        {
            Calls.Add((transactionalId, producerId, producerEpoch, partition, addPartition));
        }

        return new TransactionVerification(Error, Task.CompletedTask);
    }
}

/// <summary>Builders and a read_committed consumer for the partition-side transaction tests.</summary>
internal static class TxnTestKit
{
    public const short ProduceV11 = 11;
    public const short FetchVersion = 12;

    /// <summary>
    /// Wall-clock timestamps for test batches: markers carry the broker's time, and a batch timestamp far from it
    /// would make the log roll a segment (<c>segment.ms</c> compares batch timestamps), splitting fetches.
    /// </summary>
    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>A transactional (or plain idempotent) batch whose values are "{tag}-{i}".</summary>
    public static byte[] TxnBatch(string tag, int count, long producerId, short epoch, int sequence, bool transactional = true)
    {
        using var builder = new RecordBatchBuilder
        {
            ProducerId = producerId,
            ProducerEpoch = epoch,
            BaseSequence = sequence,
            IsTransactional = transactional,
        };
        for (var i = 0; i < count; i++)
        {
            builder.Append(Now, null, Encoding.ASCII.GetBytes($"{tag}-{i}"));
        }

        return builder.ToArray();
    }

    public static async Task<BrokerHarness> StartAsync(FakeVerifier? verifier)
    {
        var harness = await BrokerHarness.StartAsync();
        harness.Broker.Core.TransactionVerifier = verifier;
        return harness;
    }

    public static TopicPartitionObject PartitionOf(BrokerHarness harness, string topic, int index = 0)
    {
        Assert.True(harness.Broker.Core.Topics.TryGetPartition(topic, index, out var partition));
        return partition;
    }

    public static async Task<ProduceResponse.PartitionProduceResponse> ProduceTxnAsync(
        RawKafkaClient client, string topic, byte[] batch, string? transactionalId = "tx", short version = ProduceV11)
    {
        var request = DataPlane.DataPlaneTestKit.Produce(topic, batch);
        request.TransactionalId = transactionalId;
        var response = await client.SendAsync<ProduceRequest, ProduceResponse>(request, version);
        return Assert.Single(Assert.Single(response.Responses).PartitionResponses);
    }

    public static async Task<FetchResponse.PartitionData> FetchTxnAsync(
        RawKafkaClient client, string topic, long offset, sbyte isolation = 1, int maxWaitMs = 0, int minBytes = 0)
    {
        var request = DataPlane.DataPlaneTestKit.Fetch(topic, offset, maxWaitMs: maxWaitMs, minBytes: minBytes);
        request.IsolationLevel = isolation;
        var response = await client.SendAsync<FetchRequest, FetchResponse>(request, FetchVersion);
        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        return partition;
    }

    /// <summary>
    /// The read_committed consumer of kip939-spec.md §8.7 (Kafka's <c>CompletedFetch</c>): aborted transactions in
    /// a min-heap by first offset; a producer becomes "aborted" once a batch reaches its first offset, stops being so
    /// at its ABORT marker; transactional batches of aborted producers are skipped; control batches only advance the
    /// position. Returns the values of the records it delivers, in order.
    /// </summary>
    public static List<string> ConsumeCommitted(FetchResponse.PartitionData data, long fetchOffset)
    {
        var aborted = new PriorityQueue<FetchResponse.AbortedTransaction, long>();
        foreach (var txn in data.AbortedTransactions ?? [])
        {
            aborted.Enqueue(txn, txn.FirstOffset);
        }

        var abortedProducers = new HashSet<long>();
        var values = new List<string>();
        var records = (data.Records ?? ReadOnlyMemory<byte>.Empty).ToArray().AsMemory();
        while (records.Length >= RecordBatchHeader.Size)
        {
            var header = RecordBatchHeader.Read(records.Span);
            var batch = records[..header.TotalSize];
            records = records[header.TotalSize..];
            if (header.ProducerId >= 0)
            {
                while (aborted.TryPeek(out var next, out var first) && first <= header.LastOffset)
                {
                    abortedProducers.Add(aborted.Dequeue().ProducerId);
                }

                if (header.IsControl)
                {
                    if (ControlBatch.ReadMarker(batch.Span, out _).Type == ControlRecordType.Abort)
                    {
                        abortedProducers.Remove(header.ProducerId);
                    }

                    continue;
                }

                if (header.IsTransactional && abortedProducers.Contains(header.ProducerId))
                {
                    continue;
                }
            }

            if (header.IsControl)
            {
                continue;
            }

            var reader = RecordBatchReader.Create(batch.Span, CompressionCodecRegistry.None);
            try
            {
                while (reader.TryReadNext(out var record))
                {
                    if (record.Offset >= fetchOffset)
                    {
                        values.Add(Encoding.ASCII.GetString(record.Value));
                    }
                }
            }
            finally
            {
                reader.Dispose();
            }
        }

        return values;
    }
}
