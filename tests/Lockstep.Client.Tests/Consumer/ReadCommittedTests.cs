using Lockstep.Client.Tests.Harness;
using static Lockstep.Client.Tests.Consumer.ConsumerTestSupport;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests.Consumer;

/// <summary>
/// Goal: end to end, a read_committed consumer sees committed transactions only, a read_uncommitted one sees aborted
/// records too, and the committed position lies past the final COMMIT marker so a restarted member neither stops at
/// the marker nor re-reads. Method: Lockstep's transactional producer writes commit/abort/commit transactions to
/// the embedded broker; consumers read the partition back.
/// </summary>
public sealed class ReadCommittedTests
{
    private static async Task TransactionAsync(KafkaProducer producer, string prefix, int count, bool commit)
    {
        producer.BeginTransaction();
        for (var i = 0; i < count; i++)
        {
            await producer.ProduceAsync(new ProducerRecord("txn", Bytes($"{prefix}-{i}"), Bytes($"{prefix}-{i}"))
            {
                Partition = 0,
            }, Ct);
        }

        if (commit)
        {
            await producer.CommitTransactionAsync(Ct);
        }
        else
        {
            await producer.AbortTransactionAsync(Ct);
        }
    }

    [Fact]
    public async Task Read_committed_skips_aborted_records_and_commits_the_position_after_the_marker()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "txn", 1);
        var options = broker.ProducerOptions();
        options.TransactionalId = "rc-producer";
        await using (var producer = new KafkaProducer(options))
        {
            await producer.InitTransactionsAsync(Ct);
            await TransactionAsync(producer, "committed-1", 3, commit: true);
            await TransactionAsync(producer, "aborted", 3, commit: false);
            await TransactionAsync(producer, "committed-2", 2, commit: true);
        }

        var partition = new TopicPartition("txn", 0);
        await using (var consumer = new KafkaConsumer(broker.ConsumerOptions("rc-group")))
        {
            consumer.Assign([partition]);
            var records = await ConsumeAsync(consumer, 5);
            Assert.Equal(
                ["committed-1-0", "committed-1-1", "committed-1-2", "committed-2-0", "committed-2-1"],
                records.Select(r => Text(r.Value)));
            Assert.Empty(await ConsumeUntilQuietAsync(consumer, TimeSpan.FromMilliseconds(500)));

            // Layout: 0-2 data, 3 COMMIT, 4-6 aborted data, 7 ABORT, 8-9 data, 10 COMMIT. The position is 11.
            Assert.Equal(9, records[^1].Offset);
            Assert.Equal(11, await consumer.PositionAsync(partition, Ct));
            var committed = await consumer.CommitAsync(Ct);
            Assert.Equal(11, committed[partition].Offset);
        }

        var uncommittedOptions = broker.ConsumerOptions();
        uncommittedOptions.IsolationLevel = KafkaConsumerIsolationLevel.ReadUncommitted;
        await using (var uncommitted = new KafkaConsumer(uncommittedOptions))
        {
            uncommitted.Assign([partition]);
            var all = await ConsumeAsync(uncommitted, 8);
            Assert.Equal(3, all.Count(r => Text(r.Value).StartsWith("aborted", StringComparison.Ordinal)));
        }

        // A restarted member starts after the marker: it sees only what is committed later.
        await using (var producer = new KafkaProducer(options))
        {
            await producer.InitTransactionsAsync(Ct);
            await TransactionAsync(producer, "later", 1, commit: true);
        }

        await using var restarted = new KafkaConsumer(broker.ConsumerOptions("rc-group"));
        restarted.Assign([partition]);
        var later = await ConsumeAsync(restarted, 1);
        Assert.Equal("later-0", Text(later[0].Value));
    }
}
