using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Lockstep.Client.Tests.Consumer;
using Lockstep.Client.Tests.Harness;
using static Lockstep.Client.Tests.Harness.TestToken;

namespace Lockstep.Client.Tests;

/// <summary>
/// A <see cref="MeterListener"/> sees every instrument in the process, and the producer's instruments carry no
/// per-client tag: this collection runs after the parallel ones, alone, so counts taken between a listener's start
/// and the end of a test are this test's only. Consumer measurements are also filtered by a per-test client.id.
/// </summary>
[CollectionDefinition(nameof(DiagnosticsCollection), DisableParallelization = true)]
public sealed class DiagnosticsCollection;

/// <summary>Issue 5 item 7: the client's metrics and activities through System.Diagnostics (Meter and
/// ActivitySource "Lockstep.Client").</summary>
[Collection(nameof(DiagnosticsCollection))]
public sealed class DiagnosticsTests
{
    [Fact]
    public async Task Consumer_reports_records_bytes_fetches_and_lag_per_partition()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        const string topic = "diag-fetch";
        await ConsumerTestSupport.CreateTopicAsync(broker, topic, 2);
        // Partition 0 gets two batches (two producer sessions): 20 records, then 30. Partition 1 gets 10.
        var first = await ConsumerTestSupport.ProduceAsync(broker, topic, 20, partition: 0);
        var second = await ConsumerTestSupport.ProduceAsync(broker, topic, 30, partition: 0, start: 20);
        var third = await ConsumerTestSupport.ProduceAsync(broker, topic, 10, partition: 1, start: 50);
        Assert.Equal(49, second[^1].Offset);
        Assert.Equal(9, third[^1].Offset);

        using var metrics = new MetricCollector();
        var options = broker.ConsumerOptions();
        options.ClientId = "diag-consumer-fetch";
        // One byte per partition: a fetch returns at most one batch per partition (KIP-74 lets the first batch
        // exceed the limit), so partition 0 takes at least two fetches and shows lag in between.
        options.MaxPartitionFetchBytes = 1;
        await using (var consumer = new KafkaConsumer(options))
        {
            consumer.Assign([new TopicPartition(topic, 0), new TopicPartition(topic, 1)]);
            var records = await ConsumerTestSupport.ConsumeAsync(consumer, 60);
            Assert.Equal(60, records.Count);
        }

        var clientId = options.ClientId;
        var consumed = metrics.For("lockstep.client.consume.records", clientId);
        Assert.Equal(60, consumed.Sum(m => m.Value));
        Assert.All(consumed, m => Assert.Equal(topic, m.Tags["messaging.destination.name"]));

        // Record batches carry every key and value uncompressed, plus headers: at least the payload bytes.
        var payload = Enumerable.Range(0, 60).Sum(i => $"key-{i}".Length + $"value-{i}".Length);
        var bytes = metrics.For("lockstep.client.consume.fetch.bytes", clientId);
        Assert.InRange(bytes.Sum(m => m.Value), payload + 1, payload * 10);

        // Two batches in partition 0 and one in partition 1 need at least two fetch rounds.
        var fetches = metrics.For("lockstep.client.consume.fetch.duration", clientId);
        Assert.True(fetches.Count >= 2, $"expected at least 2 fetches, saw {fetches.Count}");
        Assert.All(fetches, m => Assert.True(m.Value >= 0));

        var lag = metrics.For("lockstep.client.consume.lag", clientId);
        var lag0 = lag.Where(m => (int)m.Tags["messaging.destination.partition.id"]! == 0).Select(m => m.Value).ToList();
        var lag1 = lag.Where(m => (int)m.Tags["messaging.destination.partition.id"]! == 1).Select(m => m.Value).ToList();
        // The first fetch of partition 0 returns at most one batch of the first session (KIP-74 only guarantees
        // progress for the first partition of a response; the others may get nothing), so at least the second
        // session's 30 records are still behind; the last fetch of each partition reaches the high watermark.
        Assert.InRange(lag0[0], 30, 50);
        Assert.Equal(0, lag0[^1]);
        Assert.InRange(lag1[0], 0, 10);
        Assert.Equal(0, lag1[^1]);
        Assert.All(lag, m => Assert.True(m.Value >= 0));
        Assert.All(lag, m => Assert.Equal(topic, m.Tags["messaging.destination.name"]));

        // Nothing else in the process consumed with this client.id, and no group means no commit or rebalance.
        Assert.Empty(metrics.For("lockstep.client.consume.commit.duration", clientId));
        Assert.Empty(metrics.For("lockstep.client.consume.rebalances", clientId));
    }

    [Fact]
    public async Task Group_consumer_reports_one_rebalance_and_each_commit_with_activities()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        const string topic = "diag-group";
        await ConsumerTestSupport.CreateTopicAsync(broker, topic, 3);
        await ConsumerTestSupport.ProduceAsync(broker, topic, 12);

        using var metrics = new MetricCollector();
        using var activities = new ActivityCollector();
        var options = broker.ConsumerOptions("diag-group-id");
        options.ClientId = "diag-consumer-group";
        options.EnableAutoCommit = false;
        await using (var consumer = new KafkaConsumer(options))
        {
            consumer.Subscribe([topic]);
            await ConsumerTestSupport.ConsumeAsync(consumer, 12);
            var committed = await consumer.CommitAsync(Ct);
            Assert.Equal(12, committed.Values.Sum(o => o.Offset)); // the positions of 3 partitions sum to 12
            await consumer.CommitAsync(Ct);
        }

        var clientId = options.ClientId;
        Assert.Equal(12, metrics.For("lockstep.client.consume.records", clientId).Sum(m => m.Value));
        Assert.Equal(1, metrics.For("lockstep.client.consume.rebalances", clientId).Sum(m => m.Value));
        var rebalance = Assert.Single(metrics.For("lockstep.client.consume.rebalance.duration", clientId));
        Assert.True(rebalance.Value >= 0);
        var commits = metrics.For("lockstep.client.consume.commit.duration", clientId);
        Assert.Equal(2, commits.Count);
        Assert.All(commits, m => Assert.True(m.Value >= 0));

        var mine = activities.Stopped.Where(a => (string?)a.GetTagItem("client.id") == clientId).ToList();
        var join = Assert.Single(mine, a => a.OperationName == "Lockstep.Client.Rebalance");
        Assert.Equal("diag-group-id", join.GetTagItem("messaging.consumer.group.name"));
        Assert.True((int)join.GetTagItem("lockstep.generation")! >= 1);
        Assert.Equal(2, mine.Count(a => a.OperationName == "Lockstep.Client.CommitOffsets"));
    }

    [Fact]
    public async Task Producer_reports_records_batches_latency_and_transaction_durations()
    {
        await using var broker = await ClientTestBroker.StartAsync();
        const string topic = "diag-produce";
        await ConsumerTestSupport.CreateTopicAsync(broker, topic, 1);

        using var metrics = new MetricCollector();
        var options = broker.ProducerOptions();
        options.TransactionalId = "diag-txn";
        await using (var producer = new KafkaProducer(options))
        {
            await producer.InitTransactionsAsync(Ct);
            producer.BeginTransaction();
            var deliveries = Enumerable.Range(0, 7)
                .Select(i => producer.ProduceAsync(new ProducerRecord(topic, null, [(byte)i]), Ct))
                .ToList();
            await producer.CommitTransactionAsync(Ct);
            Assert.All(await Task.WhenAll(deliveries), d => Assert.Equal(0, d.Partition));
        }

        // The producer's instruments are untagged: exact because this collection runs alone.
        Assert.Equal(7, metrics.For("lockstep.client.produce.records").Sum(m => m.Value));
        var latencies = metrics.For("lockstep.client.produce.duration");
        Assert.Equal(7, latencies.Count);
        Assert.All(latencies, m => Assert.True(m.Value >= 0));
        Assert.InRange(metrics.For("lockstep.client.produce.batches").Sum(m => m.Value), 1, 7);
        Assert.Empty(metrics.For("lockstep.client.produce.retries"));
        Assert.Single(metrics.For("lockstep.client.transaction.init.duration"));
        Assert.Single(metrics.For("lockstep.client.transaction.commit.duration"));
        Assert.Empty(metrics.For("lockstep.client.transaction.abort.duration"));
    }

    /// <summary>One measurement: instrument name, value (as double) and tags.</summary>
    private sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);

    /// <summary>Records every measurement of the "Lockstep.Client" meter from construction to disposal.</summary>
    private sealed class MetricCollector : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<Measurement> _measurements = new();

        public MetricCollector()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Lockstep.Client")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        /// <summary>Measurements of <paramref name="instrument"/>, in order; with <paramref name="clientId"/>, only
        /// those tagged with it.</summary>
        public List<Measurement> For(string instrument, string? clientId = null) =>
            _measurements.Where(m => m.Instrument == instrument
                && (clientId is null || (m.Tags.TryGetValue("client.id", out var id) && (string?)id == clientId)))
                .ToList();

        public void Dispose() => _listener.Dispose();

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (key, tag) in tags)
            {
                copy[key] = tag;
            }

            _measurements.Enqueue(new Measurement(instrument.Name, value, copy));
        }
    }

    /// <summary>Records every stopped activity of the "Lockstep.Client" source.</summary>
    private sealed class ActivityCollector : IDisposable
    {
        private readonly ActivityListener _listener;

        public ActivityCollector()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Lockstep.Client",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = Stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public ConcurrentQueue<Activity> Stopped { get; } = new();

        public void Dispose() => _listener.Dispose();
    }
}
