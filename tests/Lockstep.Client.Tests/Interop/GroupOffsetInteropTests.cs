using Confluent.Kafka;
using static Lockstep.Client.Tests.Consumer.ConsumerTestSupport;
using static Lockstep.Client.Tests.Harness.TestToken;
using static Lockstep.Client.Tests.Interop.InteropSupport;

namespace Lockstep.Client.Tests.Interop;

/// <summary>
/// Goal: issue 5's group-offset interop: an offset Lockstep's consumer commits for a group is the one librdkafka
/// reads for that group and resumes from, and the other way round. Method: the embedded broker on loopback; both
/// clients use the same group id by assignment (OffsetCommit / OffsetFetch without a join), one after the other.
/// </summary>
[Trait("Issue", "5")]
public sealed class GroupOffsetInteropTests
{
    private const string Topic = "offsets";

    [Fact]
    public async Task Committed_offsets_round_trip_between_Lockstep_and_librdkafka()
    {
        await using var broker = await TcpBroker.StartAsync("interop-offsets");
        await broker.CreateTopicAsync(Topic, 1);
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.Bootstrap }))
        {
            for (var i = 0; i < 10; i++)
            {
                await producer.ProduceAsync(new ProducerRecord(Topic, null, Encode($"value-{i}")) { Partition = 0 }, Ct);
            }
        }

        var partition = new TopicPartition(Topic, 0);
        KafkaConsumerOptions LockstepOptions() => new()
        {
            BootstrapServers = broker.Bootstrap,
            GroupId = "shared-group",
            AutoOffsetReset = KafkaConsumerOffsetReset.Earliest,
            FetchMaxWait = TimeSpan.FromMilliseconds(100),
            RetryBackoff = TimeSpan.FromMilliseconds(10),
        };

        // Lockstep consumes four records and commits position 4.
        await using (var consumer = new KafkaConsumer(LockstepOptions()))
        {
            consumer.Assign([partition]);
            var firstFour = await ConsumeAsync(consumer, 4);
            Assert.Equal(["value-0", "value-1", "value-2", "value-3"], firstFour.Select(r => Decode(r.Value)));
            await consumer.CommitAsync(new Dictionary<TopicPartition, OffsetAndMetadata> { [partition] = new(4, "lockstep") }, Ct);
        }

        // librdkafka sees 4 as the group's committed offset, resumes there, and commits 7.
        var confluentSaw = await Task.Run(() =>
        {
            using var consumer = new ConsumerBuilder<Ignore, byte[]>(ConsumerConfig(broker.Bootstrap, IsolationLevel.ReadCommitted, "shared-group")).Build();
            var confluentPartition = new Confluent.Kafka.TopicPartition(Topic, 0);
            var committed = consumer.Committed([confluentPartition], WaitTimeout).Single().Offset.Value;
            consumer.Assign(new TopicPartitionOffset(confluentPartition, Offset.Stored));
            var next = consumer.Consume(WaitTimeout);
            Assert.NotNull(next);
            consumer.Commit([new TopicPartitionOffset(confluentPartition, 7)]);
            consumer.Close();
            return (committed, next.Offset.Value, Decode(next.Message.Value));
        }, Ct);
        Assert.Equal((4L, 4L, "value-4"), confluentSaw);

        // Lockstep reads librdkafka's commit and resumes from it.
        await using (var consumer = new KafkaConsumer(LockstepOptions()))
        {
            Assert.Equal(7, (await consumer.CommittedAsync([partition], Ct))[partition]!.Value.Offset);
            consumer.Assign([partition]);
            var resumed = await ConsumeAsync(consumer, 1);
            Assert.Equal((7L, "value-7"), (resumed[0].Offset, Decode(resumed[0].Value)));
        }
    }
}
