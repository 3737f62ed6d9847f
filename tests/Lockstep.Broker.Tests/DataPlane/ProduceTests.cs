using Lockstep.Broker.Tests.Harness;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Records;
using static Lockstep.Broker.Tests.DataPlane.DataPlaneTestKit;

namespace Lockstep.Broker.Tests.DataPlane;

/// <summary>
/// Produce: acks semantics (acks=0 sends no frame, proven by pipelining), offsets and log-start reporting, and the
/// validation errors Kafka returns for corrupt, oversized and malformed batches.
/// </summary>
public sealed class ProduceTests
{
    [Fact]
    public async Task Produce_acks_all_and_one_return_consecutive_base_offsets()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        var first = await ProduceAsync(client, "t", Batch(3), acks: -1);
        var second = await ProduceAsync(client, "t", Batch(2), acks: 1);

        Assert.Equal((short)ErrorCode.None, first.ErrorCode);
        Assert.Equal(0, first.BaseOffset);
        Assert.Equal(-1, first.LogAppendTimeMs);
        Assert.Equal(0, first.LogStartOffset);
        Assert.Equal(3, second.BaseOffset);
        Assert.Equal(5, await ListOffsetAsync(client, "t", -1));
    }

    [Fact]
    public async Task Produce_acks_0_sends_no_response_frame()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        // Pipeline an acks=0 produce and a Metadata request: the first frame read must answer the Metadata request.
        await client.WriteAsync<ProduceRequest, ProduceResponse>(Produce("t", Batch(4), acks: 0), ProduceVersion);
        var metadataCorrelation = await client.WriteAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, 12);
        var metadata = await client.ReadResponseAsync<MetadataResponse>(ApiKey.Metadata, 12, metadataCorrelation);
        Assert.Single(metadata.Topics);

        // The acks=0 batch was appended all the same (the durable end may lag in fsync mode; the log end may not).
        var fetched = await FetchAsync(client, Fetch("t", 0, maxWaitMs: 10_000, minBytes: 1));
        Assert.Equal(4, Batches(fetched.Records).Sum(b => b.RecordCount));
    }

    [Fact]
    public async Task Produce_invalid_acks_is_INVALID_REQUIRED_ACKS_and_appends_nothing()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        var result = await ProduceAsync(client, "t", Batch(1), acks: 2);
        Assert.Equal((short)ErrorCode.InvalidRequiredAcks, result.ErrorCode);
        Assert.Equal(0, await ListOffsetAsync(client, "t", -1));
    }

    [Fact]
    public async Task Produce_to_unknown_topic_or_partition_is_UNKNOWN_TOPIC_OR_PARTITION()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, (await ProduceAsync(client, "missing", Batch(1))).ErrorCode);
        Assert.Equal((short)ErrorCode.UnknownTopicOrPartition, (await ProduceAsync(client, "t", Batch(1), partition: 5)).ErrorCode);
    }

    [Fact]
    public async Task Produce_corrupt_crc_is_CORRUPT_MESSAGE()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        var batch = Batch(2);
        batch[^1] ^= 0xFF; // Inside the CRC-covered records.
        var result = await ProduceAsync(client, "t", batch);
        Assert.Equal((short)ErrorCode.CorruptMessage, result.ErrorCode);
        Assert.Equal(-1, result.BaseOffset);
        Assert.Equal(0, await ListOffsetAsync(client, "t", -1));
    }

    [Fact]
    public async Task Produce_batch_above_max_message_bytes_is_MESSAGE_TOO_LARGE()
    {
        await using var harness = await BrokerHarness.StartAsync(new Dictionary<string, string> { ["message.max.bytes"] = "200" });
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        var result = await ProduceAsync(client, "t", Batch(1, valueSize: 500));
        Assert.Equal((short)ErrorCode.MessageTooLarge, result.ErrorCode);
        Assert.NotNull(result.ErrorMessage);
        Assert.Equal((short)ErrorCode.None, (await ProduceAsync(client, "t", Batch(1, valueSize: 10))).ErrorCode);
    }

    [Fact]
    public async Task Produce_two_batches_in_one_partition_is_INVALID_RECORD()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        var result = await ProduceAsync(client, "t", [.. Batch(1), .. Batch(1)]);
        Assert.Equal((short)ErrorCode.InvalidRecord, result.ErrorCode);
    }

    [Fact]
    public async Task Produce_batch_with_inconsistent_record_count_is_INVALID_RECORD()
    {
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        var batch = Batch(3);
        var header = RecordBatchHeader.Read(batch) with { LastOffsetDelta = 5 };
        header.Write(batch);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(
            batch.AsSpan(RecordBatchHeader.CrcOffset), Crc32C.Compute(batch.AsSpan(RecordBatchHeader.AttributesOffset)));
        Assert.Equal((short)ErrorCode.InvalidRecord, (await ProduceAsync(client, "t", batch)).ErrorCode);
    }

    [Fact]
    public async Task Produce_with_transactional_id_but_non_transactional_batch_is_appended()
    {
        // Kafka only consults the TransactionalId for transactional batches (KafkaApis authorizes it then); the
        // transactional paths are covered in Transactions/Partition.
        await using var harness = await BrokerHarness.StartAsync();
        await using var client = await harness.ConnectAsync();
        await CreateTopicAsync(client, "t");

        var request = Produce("t", Batch(1));
        request.TransactionalId = "txn";
        var response = await client.SendAsync<ProduceRequest, ProduceResponse>(request, ProduceVersion);
        Assert.Equal((short)ErrorCode.None, response.Responses[0].PartitionResponses[0].ErrorCode);
        Assert.Equal(0, response.Responses[0].PartitionResponses[0].BaseOffset);
    }
}
