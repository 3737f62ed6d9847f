using System.Collections.Concurrent;
using Lockstep.Client.Tests.Harness;
using static Lockstep.Client.Tests.Consumer.ConsumerTestSupport;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests.Consumer;

/// <summary>
/// Goal: subscribed consumers split a topic's partitions through the classic group protocol with either assignor,
/// take over the partitions of a member that leaves, and resume from the group's committed offsets. Method: two
/// consumers run consume loops in the background against the embedded broker; their rebalance callbacks record
/// ownership (the callbacks run on each consumer's own flow, so this is the thread-safe view of the assignment).
/// </summary>
public sealed class ConsumerGroupTests
{
    [Theory]
    [InlineData(KafkaConsumerAssignmentStrategy.Range)]
    [InlineData(KafkaConsumerAssignmentStrategy.CooperativeSticky)]
    public async Task Two_members_split_the_partitions_and_the_survivor_takes_all_when_one_leaves(
        KafkaConsumerAssignmentStrategy strategy)
    {
        await using var broker = await ClientTestBroker.StartAsync();
        const string topic = "split";
        await CreateTopicAsync(broker, topic, 4);
        await ProduceAsync(broker, topic, 40);

        await using var a = new Member(broker, "split-group", strategy);
        await using var b = new Member(broker, "split-group", strategy);
        {
            a.Start(topic);
            await WaitUntilAsync(() => a.Owned.Count == 4, "the first member owns all 4 partitions");

            b.Start(topic);
            await WaitUntilAsync(
                () => a.Owned.Count == 2 && b.Owned.Count == 2 && !a.Owned.Keys.Intersect(b.Owned.Keys).Any(),
                "the two members own 2 disjoint partitions each");
            if (strategy == KafkaConsumerAssignmentStrategy.CooperativeSticky)
            {
                // KIP-429: the first member gave up only the two partitions that moved, never all four.
                Assert.Equal(2, a.Revoked.Count);
            }

            await b.StopAsync();
            await WaitUntilAsync(() => a.Owned.Count == 4, "the survivor owns all 4 partitions again");
            await a.StopAsync();
        }

        // Every record was delivered at least once across the group, and nothing unknown appeared.
        var seen = a.Records.Concat(b.Records).Select(r => (r.Partition, r.Offset)).ToHashSet();
        Assert.Equal(40, seen.Count);
    }

    [Fact]
    public async Task A_new_member_resumes_from_the_committed_positions_and_the_group_is_visible_to_admin()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "resume", 2);
        await ProduceAsync(broker, "resume", 20);

        var options = broker.ConsumerOptions("resume-group");
        await using (var first = new KafkaConsumer(options))
        {
            first.Subscribe(["resume"]);
            var read = await ConsumeAsync(first, 20);
            Assert.Equal(20, read.Select(r => (r.Partition, r.Offset)).Distinct().Count());
            var metadata = first.GroupMetadata;
            Assert.Equal("resume-group", metadata.GroupId);
            Assert.True(metadata.GenerationId >= 1);
            Assert.NotEmpty(metadata.MemberId);

            await using var admin = new KafkaAdminClient(broker.AdminOptions());
            var description = Assert.Single(await admin.DescribeGroupsAsync(["resume-group"], Ct));
            Assert.Equal("Stable", description.State);
            Assert.Equal("cooperative-sticky", description.Protocol);
            var member = Assert.Single(description.Members);
            Assert.Equal(metadata.MemberId, member.MemberId);
            Assert.Equal(2, member.Assignment.Count);

            await first.CommitAsync(Ct);
        }

        await ProduceAsync(broker, "resume", 4, start: 20);
        await using var second = new KafkaConsumer(options);
        second.Subscribe(["resume"]);
        var fresh = await ConsumeAsync(second, 4);
        Assert.Equal(
            ["value-20", "value-21", "value-22", "value-23"],
            fresh.Select(r => Text(r.Value)).Order());
        Assert.Empty(await ConsumeUntilQuietAsync(second, TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task A_member_that_stops_consuming_leaves_after_max_poll_interval_and_reports_its_partitions_lost()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "slow", 2);
        await ProduceAsync(broker, "slow", 2);
        var options = broker.ConsumerOptions("slow-group");

        // Long enough that a consume call slowed down by a loaded machine is not itself a poll timeout (the member
        // would then leave and rejoin inside ConsumeAsync), short enough to keep the test quick. Nothing below
        // depends on how long the timeout takes to fire: every step waits for a condition.
        options.MaxPollInterval = TimeSpan.FromSeconds(3);
        var lost = new ConcurrentBag<TopicPartition>();
        var revoked = new ConcurrentBag<TopicPartition>();
        await using var consumer = new KafkaConsumer(options)
        {
            PartitionsLost = partitions =>
            {
                foreach (var p in partitions)
                {
                    lost.Add(p);
                }

                return Task.CompletedTask;
            },
            PartitionsRevoked = partitions =>
            {
                foreach (var p in partitions)
                {
                    revoked.Add(p);
                }

                return Task.CompletedTask;
            },
        };
        consumer.Subscribe(["slow"]);
        await ConsumeAsync(consumer, 1);
        Assert.True(consumer.GroupMetadata.GenerationId >= 0, "the member should be in a generation after consuming");

        // No consume call now: the heartbeat loop notices the poll timeout and leaves (Java's behaviour). Wait for
        // both sides: the coordinator has no member left, and the consumer has dropped its generation. Like Java's
        // AbstractCoordinator.maybeLeaveGroup, the consumer drops it as soon as it sends LeaveGroup; both waits are
        // kept because the two sides are updated by different threads, in no guaranteed order for this test.
        await using var admin = new KafkaAdminClient(broker.AdminOptions());
        await WaitUntilAsync(async () => (await admin.DescribeGroupsAsync(["slow-group"], Ct)).Single().Members.Count == 0,
            "the stalled member left the group");
        await WaitUntilAsync(() => consumer.GroupMetadata.GenerationId == -1, "the consumer dropped its generation");

        // The next consume call reports the partitions lost (not revoked), then rejoins and continues.
        await ConsumeAsync(consumer, 1);
        Assert.Equal(2, lost.Distinct().Count());
        Assert.Empty(revoked);
        Assert.Equal(2, consumer.Assignment.Count);
        Assert.True(consumer.GroupMetadata.GenerationId >= 0, "the member should have rejoined");
    }

    // Java's AbstractCoordinator.maybeLeaveGroup resets the generation as soon as LeaveGroup is sent
    // (resetGenerationOnLeaveGroup), not when its answer arrives: a member that has decided to leave must not act in
    // the old generation any more, since the coordinator may already have given its partitions to another member.
    [Fact(Timeout = 120_000)] // a stuck step or disposal fails this test instead of hanging the run
    public async Task A_closing_member_drops_its_generation_when_it_sends_LeaveGroup_not_when_the_answer_arrives()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        await CreateTopicAsync(broker, "leaving", 1);
        await ProduceAsync(broker, "leaving", 1);
        var gate = new IdempotenceTests.ResponseGate(broker);
        var options = broker.ConsumerOptions("leaving-group");
        options.ConnectionFactory = gate;
        options.EnableAutoCommit = false; // the close would otherwise first wait for a (held) commit answer
        options.RequestTimeout = TimeSpan.FromSeconds(60); // the held answer must not time out during the checks
        var consumer = new KafkaConsumer(options);
        consumer.Subscribe(["leaving"]);
        await ConsumeAsync(consumer, 1);
        Assert.True(consumer.GroupMetadata.GenerationId >= 0, "the member should be in a generation after consuming");

        // Every answer on the consumer's connections is held from now on, the LeaveGroup answer included.
        gate.HoldResponses();
        var closing = consumer.DisposeAsync().AsTask();
        await using var admin = new KafkaAdminClient(broker.AdminOptions());
        await WaitUntilAsync(async () => (await admin.DescribeGroupsAsync(["leaving-group"], Ct)).Single().Members.Count == 0,
            "the coordinator processed the LeaveGroup");

        Assert.False(closing.IsCompleted, "the close should still wait for the held LeaveGroup answer");
        Assert.Equal(-1, consumer.GroupMetadata.GenerationId);
        Assert.Equal(string.Empty, consumer.GroupMetadata.MemberId);

        // The answer is lost with its connection; leaving is best effort, so the close still completes.
        gate.KillHeld();
        await closing.WaitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(-1, consumer.GroupMetadata.GenerationId);
    }

    /// <summary>A consumer running its consume loop in the background and recording ownership changes.</summary>
    private sealed class Member(ClientTestBroker broker, string groupId, KafkaConsumerAssignmentStrategy strategy)
        : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        private KafkaConsumer? _consumer;
        private Task _loop = Task.CompletedTask;

        public ConcurrentDictionary<TopicPartition, bool> Owned { get; } = new();

        public ConcurrentBag<TopicPartition> Revoked { get; } = [];

        public ConcurrentBag<ConsumeResult> Records { get; } = [];

        public void Start(string topic)
        {
            var options = broker.ConsumerOptions(groupId);
            options.PartitionAssignmentStrategy = strategy;
            _consumer = new KafkaConsumer(options)
            {
                PartitionsAssigned = partitions =>
                {
                    foreach (var p in partitions)
                    {
                        Owned[p] = true;
                    }

                    return Task.CompletedTask;
                },
                PartitionsRevoked = partitions =>
                {
                    foreach (var p in partitions)
                    {
                        Owned.TryRemove(p, out _);
                        Revoked.Add(p);
                    }

                    return Task.CompletedTask;
                },
                PartitionsLost = partitions =>
                {
                    foreach (var p in partitions)
                    {
                        Owned.TryRemove(p, out _);
                    }

                    return Task.CompletedTask;
                },
            };
            _consumer.Subscribe([topic]);
            var consumer = _consumer;
            _loop = Task.Run(async () =>
            {
                await foreach (var record in consumer.ConsumeAllAsync(_stop.Token))
                {
                    Records.Add(record);
                }
            });
        }

        public async Task StopAsync()
        {
            if (_consumer is null)
            {
                return;
            }

            await _stop.CancelAsync();
            await _loop;
            await _consumer.DisposeAsync();
            _consumer = null;
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }
    }
}
