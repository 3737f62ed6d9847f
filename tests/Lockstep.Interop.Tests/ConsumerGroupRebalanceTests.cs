using System.Collections.Concurrent;
using Confluent.Kafka;
using Lockstep.Interop.Tests.Infrastructure;

namespace Lockstep.Interop.Tests;

/// <summary>
/// Goal: a classic consumer group of two Confluent.Kafka consumers rebalances while records keep arriving (member A
/// alone, then B joins, then A leaves) and no record is lost or consumed twice. Method: a producer trickles keyed
/// records into a 3-partition topic throughout; each member processes one record at a time and commits its offset
/// synchronously before consuming the next (at-least-once). Phases advance only once the group has observably
/// changed (B owns partitions; after A's Close, B owns all three) and each member has consumed in that phase.
/// <para>What is asserted, precisely: (1) every acknowledged record is consumed; (2) nothing else is; (3) a record
/// is consumed more than once only if a commit that followed one of its earlier consumptions failed: the protocol
/// may legitimately redeliver exactly those records, and no others, because a member commits before it polls again
/// and a rebalance revokes partitions only inside a poll; (4) per partition, first consumptions happen in offset
/// order across both members; (5) A consumed while alone, both consumed while sharing, B consumed every partition
/// after A left. Isolation level read_uncommitted here (the codec tests cover librdkafka's read_committed default).
/// </para>
/// </summary>
public sealed class ConsumerGroupRebalanceTests
{
    private const int Partitions = 3;
    private static readonly TimeSpan PhaseTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_members_rebalancing_while_consuming_consume_every_record_exactly_once()
    {
        await using var broker = await InProcessBroker.StartAsync();
        const string topic = "rebalance";
        await ConfluentClients.CreateTopicAsync(broker.BootstrapServers, topic, Partitions);

        var consumptions = new ConcurrentQueue<Consumption>();
        var failedCommits = new ConcurrentQueue<(int Partition, long Offset)>();
        var sequence = 0L;
        var phase = 0;
        GroupMember NewMember(string name) => new(
            name, broker, topic, "rebalance-group",
            record => consumptions.Enqueue(new Consumption(
                Interlocked.Increment(ref sequence), name, Volatile.Read(ref phase), record)),
            (partition, offset) => failedCommits.Enqueue((partition, offset)));

        await using var producer = new TrickleProducer(broker, topic);
        var a = NewMember("A");
        using var b = NewMember("B");
        try
        {
            int Count(string member, int inPhase) => consumptions.Count(c => c.Member == member && c.Phase == inPhase);

            // Phase 0: A alone owns all partitions.
            await ConfluentClients.WaitUntilAsync(() => a.AssignedCount == Partitions && Count("A", 0) >= 100, PhaseTimeout,
                "A owns all partitions and consumed 100 records");

            // Phase 1: B joins; the group rebalances while A is consuming.
            Volatile.Write(ref phase, 1);
            b.Start();
            await ConfluentClients.WaitUntilAsync(
                () => b.AssignedCount > 0 && a.AssignedCount > 0 && a.AssignedCount + b.AssignedCount == Partitions,
                PhaseTimeout, "the partitions are split between A and B");
            Volatile.Write(ref phase, 2);
            await ConfluentClients.WaitUntilAsync(() => Count("A", 2) >= 50 && Count("B", 2) >= 50, PhaseTimeout,
                "A and B each consumed 50 records while sharing the topic");

            // Phase 3: A leaves (Close sends LeaveGroup); B takes over every partition.
            Volatile.Write(ref phase, 3);
            a.Dispose();
            await ConfluentClients.WaitUntilAsync(() => b.AssignedCount == Partitions, PhaseTimeout, "B owns all partitions");
            Volatile.Write(ref phase, 4);
            await ConfluentClients.WaitUntilAsync(
                () => consumptions.Where(c => c.Member == "B" && c.Phase == 4).Select(c => c.Record.Partition).Distinct().Count() == Partitions,
                PhaseTimeout, "B consumed from every partition after A left");

            var acknowledged = await producer.StopAndFlushAsync();
            var wanted = acknowledged.Select(r => (r.Partition, r.Offset)).ToHashSet();
            await ConfluentClients.WaitUntilAsync(
                () => wanted.IsSubsetOf(consumptions.Select(c => (c.Record.Partition, c.Record.Offset))),
                TimeSpan.FromSeconds(90), $"all {acknowledged.Count} acknowledged records were consumed");
            b.Stop();

            var all = consumptions.OrderBy(c => c.Sequence).ToList();
            var failed = failedCommits.ToList();
            broker.Log.Write("test", $"{acknowledged.Count} acknowledged, {all.Count} consumptions, {failed.Count} failed commits");

            // (1) and (2): the consumed set is exactly the acknowledged set, record for record.
            var acknowledgedByValue = acknowledged.ToDictionary(r => r.Value, StringComparer.Ordinal);
            Assert.All(all, c => Assert.Equal(acknowledgedByValue.GetValueOrDefault(c.Record.Value), c.Record));
            Assert.Equal(acknowledged.Count, all.Select(c => c.Record.Value).Distinct().Count());

            // (3): redeliveries only of records whose commit failed (each redelivery needs its own failed commit).
            foreach (var group in all.GroupBy(c => (c.Record.Partition, c.Record.Offset)).Where(g => g.Count() > 1))
            {
                var failures = failed.Count(f => f == group.Key);
                Assert.True(group.Count() - 1 <= failures,
                    $"partition {group.Key.Partition} offset {group.Key.Offset} consumed {group.Count()} times "
                    + $"({string.Join(", ", group.Select(c => $"{c.Member}@phase{c.Phase}"))}) but only {failures} commit(s) of it failed");
            }

            // (4): first consumptions per partition in offset order.
            var firsts = all.GroupBy(c => (c.Record.Partition, c.Record.Offset)).Select(g => g.First()).OrderBy(c => c.Sequence);
            Verify.ConsumedInOffsetOrder([.. firsts.Select(c => c.Record)]);
            Verify.AcknowledgedInSendOrder(acknowledged);

            // (5): the scenario really happened.
            Assert.Contains(all, c => c.Member == "A" && c.Phase == 0);
            Assert.DoesNotContain(all, c => c.Member == "B" && c.Phase == 0);
            Assert.DoesNotContain(all, c => c.Member == "A" && c.Phase == 4);
        }
        finally
        {
            a.Dispose();
        }
    }

    private sealed record Consumption(long Sequence, string Member, int Phase, Seen Record);

    /// <summary>Produces keyed records at a modest, steady rate (about 500/s) until stopped.</summary>
    private sealed class TrickleProducer : IAsyncDisposable
    {
        private readonly IProducer<string, string> _producer;
        private readonly ConcurrentQueue<(long Index, DeliveryReport<string, string> Report)> _reports = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public TrickleProducer(InProcessBroker broker, string topic)
        {
            _producer = ConfluentClients.BuildProducer(ConfluentClients.IdempotentProducer(broker.BootstrapServers), broker.Log);
            _loop = Task.Run(async () =>
            {
                for (long i = 0; !_stop.IsCancellationRequested; i++)
                {
                    var index = i;
                    _producer.Produce(topic, new Message<string, string> { Key = $"key-{i % 30}", Value = $"record-{i:D7}" },
                        report => _reports.Enqueue((index, report)));
                    if (i % 5 == 4)
                    {
                        await Task.Delay(10);
                    }
                }
            });
        }

        public async Task<List<Seen>> StopAndFlushAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            Assert.Equal(0, _producer.Flush(TimeSpan.FromSeconds(60)));
            var failed = _reports.Where(r => r.Report.Error.IsError).ToList();
            Assert.True(failed.Count == 0, $"{failed.Count} delivery errors, first: {failed.FirstOrDefault().Report?.Error}");
            return [.. _reports.OrderBy(r => r.Index).Select(r => new Seen(
                r.Report.Partition.Value, r.Report.Offset.Value, r.Report.Message.Key, r.Report.Message.Value))];
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _producer.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>
    /// One group member on its own thread: consume one record, report it, commit it synchronously, repeat. The
    /// current assignment size is published after every poll for the test's phase conditions.
    /// </summary>
    private sealed class GroupMember : IDisposable
    {
        private readonly IConsumer<string, string> _consumer;
        private readonly Action<Seen> _onRecord;
        private readonly Action<int, long> _onCommitFailed;
        private readonly string _topic;
        private readonly TestLog _log;
        private readonly string _name;
        private readonly CancellationTokenSource _stop = new();
        private Thread? _thread;
        private int _assigned;
        private int _disposed;

        public GroupMember(
            string name, InProcessBroker broker, string topic, string groupId, Action<Seen> onRecord, Action<int, long> onCommitFailed)
        {
            _name = name;
            _topic = topic;
            _log = broker.Log;
            _onRecord = onRecord;
            _onCommitFailed = onCommitFailed;
            var config = ConfluentClients.GroupConsumer(broker.BootstrapServers, groupId);
            config.IsolationLevel = IsolationLevel.ReadUncommitted;
            _consumer = ConfluentClients.ConsumerBuilder(config, broker.Log, name)
                .SetPartitionsAssignedHandler((_, partitions) =>
                    _log.Write(name, "assigned " + string.Join(",", partitions.Select(p => p.Partition.Value))))
                .SetPartitionsRevokedHandler((_, partitions) =>
                    _log.Write(name, "revoked " + string.Join(",", partitions.Select(p => p.Partition.Value))))
                .Build();
            if (name == "A")
            {
                Start();
            }
        }

        public int AssignedCount => Volatile.Read(ref _assigned);

        public void Start()
        {
            _thread ??= new Thread(Run) { IsBackground = true, Name = "member " + _name };
            _thread.Start();
        }

        private void Run()
        {
            _consumer.Subscribe(_topic);
            while (!_stop.IsCancellationRequested)
            {
                ConsumeResult<string, string>? record;
                try
                {
                    record = _consumer.Consume(TimeSpan.FromMilliseconds(100));
                }
                catch (ConsumeException e)
                {
                    _log.Write(_name, $"consume error {e.Error.Code}: {e.Error.Reason}");
                    continue;
                }

                Volatile.Write(ref _assigned, _consumer.Assignment.Count);
                if (record is null || record.IsPartitionEOF)
                {
                    continue;
                }

                _onRecord(new Seen(record.Partition.Value, record.Offset.Value, record.Message.Key, record.Message.Value));
                try
                {
                    _consumer.Commit(record);
                }
                catch (KafkaException e)
                {
                    _log.Write(_name, $"commit of {record.TopicPartitionOffset} failed: {e.Error.Code} {e.Error.Reason}");
                    _onCommitFailed(record.Partition.Value, record.Offset.Value);
                }
            }

            // Close: commits nothing (auto-commit is off) and sends LeaveGroup, which triggers the rebalance.
            _consumer.Close();
            Volatile.Write(ref _assigned, 0);
        }

        public void Stop()
        {
            _stop.Cancel();
            _thread?.Join(TimeSpan.FromSeconds(30));
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            Stop();
            _consumer.Dispose();
            _stop.Dispose();
        }
    }
}
