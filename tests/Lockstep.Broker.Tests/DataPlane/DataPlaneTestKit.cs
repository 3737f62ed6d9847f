using System.Text;
using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;

namespace Lockstep.Broker.Tests.DataPlane;

/// <summary>Request builders and small helpers shared by the data-plane tests (raw protocol only).</summary>
internal static class DataPlaneTestKit
{
    public const short ProduceVersion = 9;
    public const short FetchVersion = 12;

    /// <summary>A magic-2 batch of <paramref name="count"/> records, optionally idempotent.</summary>
    public static byte[] Batch(int count, long producerId = -1, short epoch = -1, int sequence = -1, long timestamp = 1_000, int valueSize = 8)
    {
        using var builder = new RecordBatchBuilder
        {
            ProducerId = producerId,
            ProducerEpoch = epoch,
            BaseSequence = sequence,
        };
        for (var i = 0; i < count; i++)
        {
            var value = Encoding.ASCII.GetBytes(new string((char)('a' + (i % 26)), valueSize));
            builder.Append(timestamp + i, null, value);
        }

        return builder.ToArray();
    }

    public static ProduceRequest Produce(string topic, byte[] records, short acks = -1, int partition = 0) => new()
    {
        Acks = acks,
        TimeoutMs = 30_000,
        TopicData =
        [
            new ProduceRequest.TopicProduceData
            {
                Name = topic,
                PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = records }],
            },
        ],
    };

    public static async Task<ProduceResponse.PartitionProduceResponse> ProduceAsync(
        RawKafkaClient client, string topic, byte[] records, short acks = -1, int partition = 0)
    {
        var response = await client.SendAsync<ProduceRequest, ProduceResponse>(Produce(topic, records, acks, partition), ProduceVersion);
        return Assert.Single(Assert.Single(response.Responses).PartitionResponses);
    }

    public static FetchRequest Fetch(string topic, long offset, int partitionMaxBytes = 1 << 20, int maxWaitMs = 0, int minBytes = 0, int maxBytes = 1 << 24, int partition = 0) => new()
    {
        MaxWaitMs = maxWaitMs,
        MinBytes = minBytes,
        MaxBytes = maxBytes,
        SessionId = 0,
        SessionEpoch = -1,
        Topics =
        [
            new FetchRequest.FetchTopic
            {
                Topic = topic,
                Partitions = [new FetchRequest.FetchPartition { Partition = partition, FetchOffset = offset, PartitionMaxBytes = partitionMaxBytes }],
            },
        ],
    };

    public static async Task<FetchResponse.PartitionData> FetchAsync(RawKafkaClient client, FetchRequest request)
    {
        var response = await client.SendAsync<FetchRequest, FetchResponse>(request, FetchVersion);
        Assert.Equal((short)ErrorCode.None, response.ErrorCode);
        return Assert.Single(Assert.Single(response.Responses).Partitions);
    }

    /// <summary>Headers of the batches in a fetch response's RECORDS.</summary>
    public static List<RecordBatchHeader> Batches(ReadOnlyMemory<byte>? records)
    {
        var result = new List<RecordBatchHeader>();
        var span = (records ?? ReadOnlyMemory<byte>.Empty).Span;
        while (span.Length >= RecordBatchHeader.Size)
        {
            var header = RecordBatchHeader.Read(span);
            Assert.True(Crc32C.IsValidBatch(span[..header.TotalSize]));
            result.Add(header);
            span = span[header.TotalSize..];
        }

        Assert.True(span.IsEmpty, "a fetch response must contain whole batches only");
        return result;
    }

    /// <summary>Creates <paramref name="topic"/> through Metadata auto-creation and checks it exists.</summary>
    public static async Task CreateTopicAsync(RawKafkaClient client, string topic)
    {
        var response = await client.SendAsync<MetadataRequest, MetadataResponse>(
            new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = topic }], AllowAutoTopicCreation = true }, 12);
        Assert.Equal((short)ErrorCode.None, Assert.Single(response.Topics).ErrorCode);
    }

    public static async Task<long> ListOffsetAsync(RawKafkaClient client, string topic, long timestamp, sbyte isolation = 0)
    {
        var response = await client.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(new ListOffsetsRequest
        {
            ReplicaId = -1,
            IsolationLevel = isolation,
            Topics =
            [
                new ListOffsetsRequest.ListOffsetsTopic
                {
                    Name = topic,
                    Partitions = [new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = 0, Timestamp = timestamp }],
                },
            ],
        }, 7);
        var partition = Assert.Single(Assert.Single(response.Topics).Partitions);
        Assert.Equal((short)ErrorCode.None, partition.ErrorCode);
        return partition.Offset;
    }

    public static async Task<InitProducerIdResponse> InitProducerIdAsync(RawKafkaClient client, long producerId = -1, short epoch = -1, short version = 4) =>
        await client.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(
            new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = 60_000, ProducerId = producerId, ProducerEpoch = epoch }, version);
}
