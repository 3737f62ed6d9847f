using Lockstep.Client.Tests.Harness;
using static Lockstep.Client.Tests.Consumer.ConsumerTestSupport;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests.Consumer;

/// <summary>
/// Goal: a manually assigned consumer returns every record exactly once, in offset order per partition, and honours
/// seek, pause/resume, positions and committed offsets. Method: produce with Lockstep's producer to the embedded
/// broker (in-memory transport), consume with <see cref="KafkaConsumer"/>, compare with the delivery results.
/// </summary>
public sealed class ConsumerAssignTests
{
    [Fact]
    public async Task Assign_reads_every_record_in_offset_order_per_partition()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "orders", 3);
        var produced = await ProduceAsync(broker, "orders", 60);

        await using var consumer = new KafkaConsumer(broker.ConsumerOptions());
        consumer.Assign(Enumerable.Range(0, 3).Select(p => new TopicPartition("orders", p)));
        var consumed = await ConsumeAsync(consumer, 60);

        Assert.Equal(
            produced.Select(r => (r.Partition, r.Offset)).Order(),
            consumed.Select(r => (r.Partition, r.Offset)).Order());
        foreach (var group in consumed.GroupBy(r => r.Partition))
        {
            var offsets = group.Select(r => r.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);
        }

        // Key and value belong together and to the record the producer reported at that offset.
        var byOffset = produced.Select((r, i) => (r, i)).ToDictionary(x => (x.r.Partition, x.r.Offset), x => x.i);
        Assert.All(consumed, r =>
        {
            var i = byOffset[(r.Partition, r.Offset)];
            Assert.Equal($"key-{i}", Text(r.Key));
            Assert.Equal($"value-{i}", Text(r.Value));
            Assert.Equal("orders", r.Topic);
        });

        // The position of a fully read partition is its log end offset.
        for (var p = 0; p < 3; p++)
        {
            var expected = produced.Where(r => r.Partition == p).Select(r => r.Offset + 1).DefaultIfEmpty(0).Max();
            Assert.Equal(expected, await consumer.PositionAsync(new TopicPartition("orders", p), Ct));
        }
    }

    [Fact]
    public async Task Seek_rewinds_and_pause_holds_back_a_partition_until_resumed()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "events", 2);
        await ProduceAsync(broker, "events", 10, partition: 0);
        await ProduceAsync(broker, "events", 10, partition: 1, start: 100);
        var p0 = new TopicPartition("events", 0);
        var p1 = new TopicPartition("events", 1);

        await using var consumer = new KafkaConsumer(broker.ConsumerOptions());
        consumer.Assign([p0, p1]);
        consumer.Seek(p0, 7);
        consumer.Pause([p1]);
        var first = await ConsumeAsync(consumer, 3);
        Assert.Equal([7L, 8L, 9L], first.Select(r => r.Offset));
        Assert.All(first, r => Assert.Equal(0, r.Partition));
        Assert.Equal([p1], consumer.Paused);

        consumer.Resume([p1]);
        consumer.Seek(p0, 9);
        var rest = await ConsumeAsync(consumer, 11);
        Assert.Equal([9L], rest.Where(r => r.Partition == 0).Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), rest.Where(r => r.Partition == 1).Select(r => r.Offset));
        Assert.Equal("value-100", Text(rest.First(r => r.Partition == 1).Value));
    }

    [Fact]
    public async Task Committed_position_is_where_a_new_consumer_of_the_group_starts()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "ledger", 1);
        await ProduceAsync(broker, "ledger", 20);
        var partition = new TopicPartition("ledger", 0);

        await using (var first = new KafkaConsumer(broker.ConsumerOptions("billing")))
        {
            first.Assign([partition]);
            var read = await ConsumeAsync(first, 12);
            Assert.Equal(11, read[^1].Offset);
            var committed = await first.CommitAsync(Ct);
            Assert.Equal(12, committed[partition].Offset);
            Assert.Equal(12, (await first.CommittedAsync([partition], Ct))[partition]!.Value.Offset);
        }

        await using var second = new KafkaConsumer(broker.ConsumerOptions("billing"));
        second.Assign([partition]);
        Assert.Equal(12, await second.PositionAsync(partition, Ct));
        var remaining = await ConsumeAsync(second, 8);
        Assert.Equal(Enumerable.Range(12, 8).Select(i => (long)i), remaining.Select(r => r.Offset));

        // Explicit offsets (with metadata) are committed as given.
        await second.CommitAsync(new Dictionary<TopicPartition, OffsetAndMetadata> { [partition] = new(5, "manual") }, Ct);
        var stored = (await second.CommittedAsync([partition], Ct))[partition]!.Value;
        Assert.Equal(5, stored.Offset);
        Assert.Equal("manual", stored.Metadata);
    }

    [Fact]
    public async Task Latest_reset_skips_existing_records_and_consume_loop_yields_new_ones()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "feed", 1);
        await ProduceAsync(broker, "feed", 5);
        var partition = new TopicPartition("feed", 0);
        var options = broker.ConsumerOptions();
        options.AutoOffsetReset = KafkaConsumerOffsetReset.Latest;
        await using var consumer = new KafkaConsumer(options);
        consumer.Assign([partition]);
        Assert.Equal(5, await consumer.PositionAsync(partition, Ct));

        await ProduceAsync(broker, "feed", 3, start: 5);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        limit.CancelAfter(WaitLimit);
        var seen = new List<ConsumeResult>();
        await foreach (var record in consumer.ConsumeAllAsync(limit.Token))
        {
            seen.Add(record);
            if (seen.Count == 3)
            {
                break;
            }
        }

        Assert.Equal(["value-5", "value-6", "value-7"], seen.Select(r => Text(r.Value)));
    }

    [Fact]
    public async Task Offset_out_of_range_resets_by_policy_or_fails_with_none()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "short", 1);
        await ProduceAsync(broker, "short", 4);
        var partition = new TopicPartition("short", 0);

        await using (var consumer = new KafkaConsumer(broker.ConsumerOptions()))
        {
            consumer.Assign([partition]);
            consumer.Seek(partition, 1000);
            var records = await ConsumeAsync(consumer, 4);
            Assert.Equal([0L, 1L, 2L, 3L], records.Select(r => r.Offset));
        }

        var strict = broker.ConsumerOptions();
        strict.AutoOffsetReset = KafkaConsumerOffsetReset.None;
        await using var failing = new KafkaConsumer(strict);
        failing.Assign([partition]);
        failing.Seek(partition, 1000);
        var error = await Assert.ThrowsAnyAsync<KafkaException>(() => failing.ConsumeAsync(Ct));
        Assert.Equal(Lockstep.Protocol.ErrorCode.OffsetOutOfRange, error.ErrorCode);
    }
}
