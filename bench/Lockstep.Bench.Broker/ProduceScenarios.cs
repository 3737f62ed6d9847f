using System.Buffers.Binary;
using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Lockstep.Bench.Broker;

/// <summary>What every load scenario shares: record size, client settings, timing windows.</summary>
internal sealed record LoadSettings(int RecordSize, TimeSpan Warmup, TimeSpan Duration);

/// <summary>Result of one producer run. Rates count records acknowledged inside the measured window only.</summary>
internal sealed record ProduceResult(
    string Durability,
    int Partitions,
    double TargetRecordsPerSecond,
    double MBps,
    double RecordsPerSecond,
    LatencySummary Produce,
    LatencySummary? EndToEnd,
    long Errors,
    string? FirstError,
    long Unacknowledged,
    double BrokerCpuPercent,
    double HarnessCpuPercent,
    string LoadBefore,
    string LoadAfter,
    long Acknowledged,
    long HighWatermarkSum);

/// <summary>
/// Confluent.Kafka (librdkafka) producer scenarios against a broker: maximum throughput and a paced end-to-end run.
/// The producer settings are the issue's: acks=all, idempotence, linger.ms=5, batch.size 1 MB, no compression.
/// </summary>
internal static class ProduceScenarios
{
    public static async Task CreateTopicAsync(string bootstrapServers, string topic, int partitions)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
    }

    private static IProducer<Null, byte[]> BuildProducer(string bootstrapServers) =>
        new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            BatchSize = 1_000_000,
            CompressionType = CompressionType.None,
        }).Build();

    /// <summary>
    /// Produces as fast as the client accepts records (librdkafka's queue bounds what is in flight; on
    /// QUEUE_FULL the loop waits 1 ms) for warm-up + duration. Produce latency is from the <c>Produce</c> call to the
    /// delivery report, so at saturation it includes the time spent in librdkafka's queue, as
    /// kafka-producer-perf-test's latency does.
    /// </summary>
    public static ProduceResult Throughput(BrokerProcess broker, string durability, string topic, int partitions, LoadSettings settings)
    {
        var loadBefore = Conditions.LoadAverage();
        var value = new byte[settings.RecordSize];
        new Random(12345).NextBytes(value); // random (incompressible) but the same in every run
        var recorder = new LatencyRecorder(20_000_000);
        var window = new Window(settings);
        long deliveredInWindow = 0, acknowledged = 0, errors = 0;
        string? firstError = null;

        using (var producer = BuildProducer(broker.BootstrapServers))
        {
            var cpu = new CpuMeter(broker);
            // One closure per record is the price of per-record timing through Confluent's Produce(handler) API
            // (which allocates a delivery-handler shim per record anyway).
            long sequence = 0;
            void Send(long start)
            {
                // A per-record sequence number in the first 8 bytes lets Verify find duplicates and losses; librdkafka
                // copies the value during Produce, so the buffer can be reused.
                BinaryPrimitives.WriteInt64LittleEndian(value, sequence);
                producer.Produce(topic, new Message<Null, byte[]> { Value = value }, report =>
                {
                    // Delivery handlers run on Confluent's poll thread AND, during Flush, on the flushing thread
                    // (rd_kafka_flush polls): counters are Interlocked.
                    var now = Stopwatch.GetTimestamp();
                    if (report.Error.IsError)
                    {
                        Interlocked.Increment(ref errors);
                        firstError ??= report.Error.ToString();
                        return;
                    }

                    Interlocked.Increment(ref acknowledged);
                    if (window.Contains(start))
                    {
                        recorder.Record(now - start);
                    }

                    if (window.Contains(now))
                    {
                        Interlocked.Increment(ref deliveredInWindow);
                    }
                });
                sequence++; // only after Produce accepted the record (QUEUE_FULL throws before)
            }

            while (true)
            {
                var start = Stopwatch.GetTimestamp();
                if (start >= window.End)
                {
                    break;
                }

                if (start >= window.Start)
                {
                    cpu.StartOnce();
                }

                try
                {
                    Send(start);
                }
                catch (ProduceException<Null, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    Thread.Sleep(1);
                }
            }

            var (brokerCpu, harnessCpu) = cpu.Stop();
            producer.Flush(TimeSpan.FromSeconds(60));
            // Flush returns once librdkafka's queues are empty, which can be just before Confluent's poll thread has
            // run the last delivery handlers; wait for them so the counters below are complete.
            var remaining = WaitForReports(() => Interlocked.Read(ref acknowledged) + Interlocked.Read(ref errors), sequence);
            return new ProduceResult(
                durability, partitions, double.NaN,
                deliveredInWindow * (double)settings.RecordSize / settings.Duration.TotalSeconds / 1e6,
                deliveredInWindow / settings.Duration.TotalSeconds,
                recorder.Summarize(), null, errors, firstError, remaining, brokerCpu, harnessCpu,
                loadBefore, Conditions.LoadAverage(), acknowledged, HighWatermarkSum(broker, topic, partitions));
        }
    }

    /// <summary>
    /// Produces at a fixed rate (token bucket on Stopwatch, at most 10 ms of tokens banked so a stall is not followed
    /// by an unbounded burst) while one consumer reads the topic. Each value starts with its send time in Stopwatch
    /// ticks (same machine, same monotonic clock in both processes' view: CLOCK_MONOTONIC), so end-to-end latency is
    /// consumer-receive time minus that stamp.
    /// </summary>
    public static ProduceResult EndToEnd(BrokerProcess broker, string durability, string topic, int partitions, double recordsPerSecond, LoadSettings settings)
    {
        var loadBefore = Conditions.LoadAverage();
        var value = new byte[settings.RecordSize];
        new Random(12345).NextBytes(value);
        var produceRecorder = new LatencyRecorder(2_000_000);
        var e2eRecorder = new LatencyRecorder(2_000_000);
        var window = new Window(settings);
        long deliveredInWindow = 0, acknowledged = 0, errors = 0;
        string? firstError = null;
        long consumed = 0;
        var producing = 1;

        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "bench-e2e",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            FetchMinBytes = 1, // fetch.wait.max.ms stays at librdkafka's default (500 ms)
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var consumerThread = new Thread(() =>
        {
            var deadline = long.MaxValue;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message?.Value is { Length: >= 8 } received)
                {
                    var now = Stopwatch.GetTimestamp();
                    var sentAt = BinaryPrimitives.ReadInt64LittleEndian(received);
                    if (window.Contains(sentAt))
                    {
                        e2eRecorder.Record(now - sentAt);
                    }

                    consumed++;
                }

                // After the producer is done, drain what was acknowledged, for at most 10 s.
                if (Volatile.Read(ref producing) == 0 && deadline == long.MaxValue)
                {
                    deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
                }

                if (Volatile.Read(ref producing) == 0 && consumed >= Interlocked.Read(ref acknowledged))
                {
                    break;
                }
            }
        }) { IsBackground = true, Name = "e2e-consumer" };
        consumerThread.Start();

        long remaining, sent;
        double brokerCpu, harnessCpu;
        using (var producer = BuildProducer(broker.BootstrapServers))
        {
            var cpu = new CpuMeter(broker);
            var bucketCapacity = recordsPerSecond / 100; // 10 ms worth
            var tokens = 0.0;
            sent = 0;
            var last = Stopwatch.GetTimestamp();
            while (true)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= window.End)
                {
                    break;
                }

                if (now >= window.Start)
                {
                    cpu.StartOnce();
                }

                tokens = Math.Min(bucketCapacity, tokens + ((now - last) * recordsPerSecond / Stopwatch.Frequency));
                last = now;
                while (tokens >= 1)
                {
                    var start = Stopwatch.GetTimestamp();
                    BinaryPrimitives.WriteInt64LittleEndian(value, start);
                    // Confluent copies the value into librdkafka during Produce (RD_KAFKA_MSG_F_COPY), so reusing the
                    // buffer for the next record is safe; the handler below never reads report.Message.Value.
                    producer.Produce(topic, new Message<Null, byte[]> { Value = value }, report =>
                    {
                        var delivered = Stopwatch.GetTimestamp();
                        if (report.Error.IsError)
                        {
                            Interlocked.Increment(ref errors);
                            firstError ??= report.Error.ToString();
                            return;
                        }

                        Interlocked.Increment(ref acknowledged);
                        if (window.Contains(start))
                        {
                            produceRecorder.Record(delivered - start);
                        }

                        if (window.Contains(delivered))
                        {
                            Interlocked.Increment(ref deliveredInWindow);
                        }
                    });
                    tokens -= 1;
                    sent++;
                }

                Thread.Sleep(1);
            }

            (brokerCpu, harnessCpu) = cpu.Stop();
            producer.Flush(TimeSpan.FromSeconds(60));
            remaining = WaitForReports(() => Interlocked.Read(ref acknowledged) + Interlocked.Read(ref errors), sent);
        }

        Volatile.Write(ref producing, 0);
        consumerThread.Join();
        consumer.Close();
        return new ProduceResult(
            durability, partitions, recordsPerSecond,
            deliveredInWindow * (double)settings.RecordSize / settings.Duration.TotalSeconds / 1e6,
            deliveredInWindow / settings.Duration.TotalSeconds,
            produceRecorder.Summarize(), e2eRecorder.Summarize(), errors, firstError, remaining, brokerCpu, harnessCpu,
            loadBefore, Conditions.LoadAverage(), Interlocked.Read(ref acknowledged), HighWatermarkSum(broker, topic, partitions));
    }

    /// <summary>Waits up to 10 s for <paramref name="reported"/> to reach <paramref name="sent"/>; returns the shortfall.</summary>
    private static long WaitForReports(Func<long> reported, long sent)
    {
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        while (reported() < sent && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.Sleep(10);
        }

        return sent - reported();
    }

    /// <summary>
    /// Reads the whole topic back (up to the high watermarks) and counts records whose sequence number (first 8
    /// bytes, written by <see cref="Throughput"/>) was already seen, and sequence numbers below the largest one seen
    /// that never appeared. Returns (records read, duplicates, missing).
    /// </summary>
    public static (long Read, long Duplicates, long Missing, string Detail) Verify(BrokerProcess broker, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "bench-verify",
            EnableAutoCommit = false,
        }).Build();
        var ends = Enumerable.Range(0, partitions)
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value)
            .ToArray();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var seen = new System.Collections.BitArray(64_000_000);
        long read = 0, duplicates = 0, max = -1;
        var detail = new System.Text.StringBuilder();
        var done = new bool[partitions];
        var deadline = Stopwatch.GetTimestamp() + (120 * Stopwatch.Frequency);
        while (done.Any(d => !d) && Stopwatch.GetTimestamp() < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result?.Message is null)
            {
                for (var p = 0; p < partitions; p++)
                {
                    done[p] |= ends[p] == 0;
                }

                continue;
            }

            var p2 = result.Partition.Value;
            var seq = BinaryPrimitives.ReadInt64LittleEndian(result.Message.Value);
            read++;
            if (seen[(int)seq])
            {
                duplicates++;
                if (detail.Length < 400)
                {
                    detail.Append(System.Globalization.CultureInfo.InvariantCulture, $"seq {seq} again at {p2}@{result.Offset.Value}; ");
                }
            }

            seen[(int)seq] = true;
            max = Math.Max(max, seq);
            if (result.Offset.Value + 1 >= ends[p2])
            {
                done[p2] = true;
            }
        }

        long missing = 0;
        for (var i = 0; i <= max; i++)
        {
            missing += seen[i] ? 0 : 1;
        }

        return (read, duplicates, missing, detail.ToString());
    }

    /// <summary>
    /// Sum of the partitions' high watermarks as the broker reports them (ListOffsets): a check that every
    /// acknowledged record was really appended, so the rates above are not counting something else.
    /// </summary>
    private static long HighWatermarkSum(BrokerProcess broker, string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "bench-watermarks",
        }).Build();
        return Enumerable.Range(0, partitions)
            .Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    /// <summary>The measured window: [now + warm-up, now + warm-up + duration) in Stopwatch ticks.</summary>
    private readonly struct Window(LoadSettings settings)
    {
        public long Start { get; } = Stopwatch.GetTimestamp() + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);

        public long End => Start + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency);

        public bool Contains(long ticks) => ticks >= Start && ticks < End;
    }

    /// <summary>CPU used by the broker child and by this process between StartOnce and Stop, in % of one core.</summary>
    private sealed class CpuMeter(BrokerProcess broker)
    {
        private long _startTicks;
        private double _brokerStart, _harnessStart;

        public void StartOnce()
        {
            if (_startTicks != 0)
            {
                return;
            }

            _startTicks = Stopwatch.GetTimestamp();
            _brokerStart = broker.CpuSeconds();
            _harnessStart = ProcCpu.Seconds(Environment.ProcessId);
        }

        public (double Broker, double Harness) Stop()
        {
            var wall = Stopwatch.GetElapsedTime(_startTicks).TotalSeconds;
            return (100 * (broker.CpuSeconds() - _brokerStart) / wall, 100 * (ProcCpu.Seconds(Environment.ProcessId) - _harnessStart) / wall);
        }
    }
}
