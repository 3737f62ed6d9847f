using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Lockstep.Bench.Broker;

namespace Lockstep.Bench.Client;

/// <summary>
/// Confluent.Kafka 2.16 (librdkafka) under the issue 5 workloads, shaped like <see cref="LockstepScenarios"/>. Its
/// managed allocations are counted, librdkafka's native ones (the message copies, batches, request buffers) are
/// not: its bytes per record are a lower bound of what it costs the process.
/// </summary>
internal static class ConfluentScenarios
{
    public const string Name = "Confluent.Kafka";

    private static ProducerConfig Config(string bootstrapServers, RunSettings settings, string? transactionalId, bool backgroundPoll)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            ClientId = "bench-confluent",
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = settings.LingerMs,
            BatchSize = settings.BatchSize,
            CompressionType = CompressionType.None,
            TransactionalId = transactionalId,
            // Above the harness's outstanding-record cap, so that cap (the same for both clients) is what bounds
            // the run, not librdkafka's queue (default 100,000 messages / 1 GiB).
            QueueBufferingMaxMessages = Math.Max(100_000, 2 * settings.MaxOutstanding),
        };
        config.Set("dotnet.producer.enable.background.poll", backgroundPoll ? "true" : "false");
        return config;
    }

    /// <summary>
    /// Produces as fast as the cap on unacknowledged records allows: a semaphore of
    /// <see cref="RunSettings.MaxOutstanding"/> permits, taken before each <c>Produce</c> and released by its
    /// delivery handler (one cached delegate). Handlers run on Confluent's poll thread and, during Flush, on the
    /// flushing thread, so counters are Interlocked.
    /// </summary>
    public static ThroughputResult Throughput(BrokerProcess broker, string topic, RunSettings settings, int round)
    {
        var loadBefore = Conditions.LoadAverage();
        var value = new byte[settings.RecordSize];
        new Random(12345).NextBytes(value);
        var message = new Message<Null, byte[]> { Value = value };
        using var permits = new SemaphoreSlim(settings.MaxOutstanding, settings.MaxOutstanding);
        long inWindow = 0, acknowledged = 0, errors = 0, sent = 0;
        string? firstError = null;
        var window = new Window(settings);
        var meter = new ResourceMeter(broker);
        Action<DeliveryReport<Null, byte[]>> onDelivery = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref errors);
                firstError ??= report.Error.ToString();
            }
            else
            {
                Interlocked.Increment(ref acknowledged);
                if (window.Contains(Stopwatch.GetTimestamp()))
                {
                    Interlocked.Increment(ref inWindow);
                }
            }

            permits.Release();
        };

        Usage usage = default;
        using (var producer = new ProducerBuilder<Null, byte[]>(Config(broker.BootstrapServers, settings, null, backgroundPoll: true)).Build())
        {
            var thread = new Thread(() =>
            {
                while (true)
                {
                    var now = Stopwatch.GetTimestamp();
                    if (now >= window.End)
                    {
                        usage = meter.Stop();
                        break;
                    }

                    if (now >= window.Start)
                    {
                        meter.StartOnce();
                    }

                    permits.Wait();
                    producer.Produce(topic, message, onDelivery);
                    sent++;
                }
            }) { Name = "confluent-producer" };
            thread.Start();
            thread.Join();
            producer.Flush(TimeSpan.FromSeconds(60));
        }

        // Disposing the producer has run every delivery handler.
        return new ThroughputResult(Name, round, inWindow, inWindow / settings.Duration.TotalSeconds, usage,
            Interlocked.Read(ref acknowledged), Interlocked.Read(ref errors), firstError,
            Watermarks.Sum(broker.BootstrapServers, topic, settings.Partitions), loadBefore,
            Conditions.LoadAverage());
    }

    /// <summary>Back to back: BeginTransaction, one Produce (no handler: the commit flushes and fails if the record
    /// did), CommitTransaction. <paramref name="backgroundPoll"/> false leaves delivery reports to the flushing thread
    /// (issue 4 "Where the time goes": with it on, each commit waits out a 10 ms flush poll slice).</summary>
    public static TransactionResult Transactions(
        BrokerProcess broker, string topic, RunSettings settings, int round, bool backgroundPoll)
    {
        var loadBefore = Conditions.LoadAverage();
        var value = new byte[settings.RecordSize];
        new Random(12345).NextBytes(value);
        var message = new Message<Null, byte[]> { Value = value };
        var partition = new TopicPartition(topic, 0);
        var whole = new LatencyRecorder(2_000_000);
        var commit = new LatencyRecorder(2_000_000);
        long transactions = 0, failed = 0, committed = 0;
        string? firstError = null;
        Usage usage;

        var config = Config(broker.BootstrapServers, settings, $"bench-confluent-txn-{round}-{backgroundPoll}", backgroundPoll);
        using (var producer = new ProducerBuilder<Null, byte[]>(config).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(30));
            var window = new Window(settings);
            var meter = new ResourceMeter(broker);
            while (true)
            {
                var t0 = Stopwatch.GetTimestamp();
                if (t0 >= window.End)
                {
                    break;
                }

                var measured = t0 >= window.Start;
                if (measured)
                {
                    meter.StartOnce();
                }

                try
                {
                    producer.BeginTransaction();
                    producer.Produce(partition, message);
                    var t1 = Stopwatch.GetTimestamp();
                    producer.CommitTransaction(TimeSpan.FromSeconds(30));
                    var t2 = Stopwatch.GetTimestamp();
                    committed++;
                    if (measured)
                    {
                        whole.Record(t2 - t0);
                        commit.Record(t2 - t1);
                        transactions++;
                    }
                }
                catch (KafkaException e)
                {
                    firstError ??= e.Error.ToString();
                    failed++;
                    producer.AbortTransaction(TimeSpan.FromSeconds(30));
                }
            }

            usage = meter.Stop();
        }

        var name = backgroundPoll ? Name : Name + " (background poll off)";
        return new TransactionResult(name, round, transactions, transactions / settings.Duration.TotalSeconds,
            whole.Summarize(), commit.Summarize(), usage, failed, firstError,
            Watermarks.Sum(broker.BootstrapServers, topic, 1), committed, loadBefore, Conditions.LoadAverage());
    }
}

/// <summary>Topic set-up and the end-of-run check (sum of high watermarks), through Confluent's admin and consumer
/// so that the check does not depend on the client under test.</summary>
internal static class Watermarks
{
    public static async Task CreateTopicAsync(string bootstrapServers, string topic, int partitions)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
    }

    public static long Sum(string bootstrapServers, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "bench-watermarks",
        }).Build();
        long sum = 0;
        for (var p = 0; p < partitions; p++)
        {
            sum += consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value;
        }

        return sum;
    }
}
