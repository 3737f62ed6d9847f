using Lockstep.Client.Admin;
using Lockstep.Client.Tests.Harness;
using Lockstep.Protocol;
using static Lockstep.Client.Tests.Consumer.ConsumerTestSupport;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests.Admin;

/// <summary>
/// Goal: every admin call maps the broker's answer faithfully — results for success, <see cref="KafkaException"/>
/// with the Kafka error code (and the broker's message) for failure. Method: drive the embedded broker with
/// <see cref="KafkaAdminClient"/>, creating the state to inspect with Lockstep's producer and consumer.
/// </summary>
public sealed class AdminClientTests
{
    [Fact]
    public async Task Topics_are_created_described_configured_and_deleted()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await using var admin = new KafkaAdminClient(broker.AdminOptions());

        await admin.CreateTopicsAsync(
            [new NewTopic("inventory", 3, 1) { Configs = new Dictionary<string, string> { ["retention.ms"] = "3600000" } }],
            cancellationToken: Ct);
        var topic = Assert.Single(await admin.DescribeTopicsAsync(["inventory"], Ct));
        Assert.Equal([0, 1, 2], topic.Partitions.Select(p => p.Partition));
        Assert.All(topic.Partitions, p => Assert.True(p.Leader >= 0));
        Assert.False(topic.IsInternal);

        var duplicate = await Assert.ThrowsAnyAsync<KafkaException>(() =>
            admin.CreateTopicsAsync([new NewTopic("inventory", 1, 1)], cancellationToken: Ct));
        Assert.Equal(ErrorCode.TopicAlreadyExists, duplicate.ErrorCode);
        Assert.Contains("inventory", duplicate.Message, StringComparison.Ordinal);

        var resource = new ConfigResource(ConfigResourceType.Topic, "inventory");
        var retention = (await admin.DescribeConfigsAsync(resource, Ct)).Single(c => c.Name == "retention.ms");
        Assert.Equal("3600000", retention.Value);
        Assert.False(retention.IsDefault);

        await admin.IncrementalAlterConfigsAsync(resource,
            [new ConfigAlteration("retention.ms", AlterConfigOperation.Set, "7200000")], cancellationToken: Ct);
        Assert.Equal("7200000", (await admin.DescribeConfigsAsync(resource, Ct)).Single(c => c.Name == "retention.ms").Value);

        await admin.DeleteTopicsAsync(["inventory"], Ct);
        var missing = await Assert.ThrowsAnyAsync<KafkaException>(() => admin.DescribeTopicsAsync(["inventory"], Ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, missing.ErrorCode);
        var deleteMissing = await Assert.ThrowsAnyAsync<KafkaException>(() => admin.DeleteTopicsAsync(["inventory"], Ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, deleteMissing.ErrorCode);
    }

    [Fact]
    public async Task Describe_cluster_reports_the_single_broker()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await using var admin = new KafkaAdminClient(broker.AdminOptions());

        var cluster = await admin.DescribeClusterAsync(Ct);

        Assert.False(string.IsNullOrEmpty(cluster.ClusterId));
        var node = Assert.Single(cluster.Brokers);
        Assert.True(node.Port > 0);
        Assert.Equal(node.BrokerId, cluster.ControllerId);
    }

    [Fact]
    public async Task Groups_and_their_committed_offsets_are_listed()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "audit", 2);
        await ProduceAsync(broker, "audit", 10);
        await using var admin = new KafkaAdminClient(broker.AdminOptions());

        await using (var consumer = new KafkaConsumer(broker.ConsumerOptions("auditors")))
        {
            consumer.Subscribe(["audit"]);
            await ConsumeAsync(consumer, 10);
            await consumer.CommitAsync(Ct);

            var listed = (await admin.ListGroupsAsync(cancellationToken: Ct)).Single(g => g.GroupId == "auditors");
            Assert.Equal("consumer", listed.ProtocolType);
            Assert.Single(await admin.ListGroupsAsync(["Stable"], Ct), g => g.GroupId == "auditors");
            Assert.DoesNotContain(await admin.ListGroupsAsync(["Empty"], Ct), g => g.GroupId == "auditors");
        }

        var offsets = await admin.ListConsumerGroupOffsetsAsync("auditors", cancellationToken: Ct);
        Assert.Equal(2, offsets.Count);
        Assert.Equal(10, offsets.Values.Sum(o => o.Offset));

        // After the member left, the group is Empty with no members.
        var group = Assert.Single(await admin.DescribeGroupsAsync(["auditors"], Ct));
        Assert.Equal("Empty", group.State);
        Assert.Empty(group.Members);
    }

    [Fact]
    public async Task Transactions_are_listed_described_and_force_terminated()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "payments", 1);
        await using var admin = new KafkaAdminClient(broker.AdminOptions());
        var options = broker.ProducerOptions();
        options.TransactionalId = "txn-admin-1";
        var partition = new TopicPartition("payments", 0);
        await using var producer = new KafkaProducer(options);
        await producer.InitTransactionsAsync(Ct);
        producer.BeginTransaction();
        await producer.ProduceAsync(new ProducerRecord("payments", null, Bytes("pending")) { Partition = 0 }, Ct);

        var all = await admin.ListTransactionsAsync(cancellationToken: Ct);
        var listing = Assert.Single(all, t => t.TransactionalId == "txn-admin-1");
        Assert.Equal("Ongoing", listing.State);
        Assert.Single(await admin.ListTransactionsAsync(new ListTransactionsFilter { States = ["Ongoing"] }, Ct),
            t => t.TransactionalId == "txn-admin-1");
        Assert.DoesNotContain(
            await admin.ListTransactionsAsync(new ListTransactionsFilter { States = ["CompleteCommit"] }, Ct),
            t => t.TransactionalId == "txn-admin-1");
        Assert.DoesNotContain(
            await admin.ListTransactionsAsync(new ListTransactionsFilter { MinDuration = TimeSpan.FromHours(1) }, Ct),
            t => t.TransactionalId == "txn-admin-1");
        Assert.Single(
            await admin.ListTransactionsAsync(new ListTransactionsFilter { TransactionalIdPattern = "txn-admin-.*" }, Ct),
            t => t.TransactionalId == "txn-admin-1");
        Assert.Empty(
            await admin.ListTransactionsAsync(new ListTransactionsFilter { TransactionalIdPattern = "other-.*" }, Ct));

        var description = Assert.Single(await admin.DescribeTransactionsAsync(["txn-admin-1"], Ct));
        Assert.Equal("Ongoing", description.State);
        Assert.Equal(listing.ProducerId, description.ProducerId);
        Assert.Equal([partition], description.Partitions);

        var producers = (await admin.DescribeProducersAsync([partition], Ct))[partition];
        var active = Assert.Single(producers);
        Assert.Equal(listing.ProducerId, active.ProducerId);
        Assert.Equal(0, active.CurrentTransactionStartOffset);

        // KIP-664/939: fencing the id aborts the open transaction; the old producer can no longer commit it.
        await admin.ForceTerminateTransactionAsync("txn-admin-1", Ct);
        await Assert.ThrowsAnyAsync<KafkaException>(() => producer.CommitTransactionAsync(Ct));
        // Kafka ends a fenced transaction in CompleteAbort, and the fencing InitProducerId then leaves the id Empty
        // under the bumped epoch (TransactionCoordinator.handleInitProducerId).
        var state = "";
        await WaitUntilAsync(async () =>
        {
            state = (await admin.DescribeTransactionsAsync(["txn-admin-1"], Ct)).Single().State;
            return state is "CompleteAbort" or "Empty";
        }, "the terminated transaction is complete");

        await using var consumer = new KafkaConsumer(broker.ConsumerOptions());
        consumer.Assign([partition]);
        Assert.Empty(await ConsumeUntilQuietAsync(consumer, TimeSpan.FromMilliseconds(500)));
        Assert.True(await consumer.PositionAsync(partition, Ct) >= 2, "the position passed the record and its ABORT marker");

        var unknown = await Assert.ThrowsAnyAsync<KafkaException>(() => admin.DescribeTransactionsAsync(["nope"], Ct));
        Assert.Equal(ErrorCode.TransactionalIdNotFound, unknown.ErrorCode);
    }
}
