using System.Diagnostics;
using Confluent.Kafka;

namespace Lockstep.Bench.Broker;

/// <summary>Result of one transactional run of <see cref="TransactionScenarios.BackToBack"/>.</summary>
internal sealed record TransactionResult(
    int RecordsPerTransaction,
    long Transactions,
    double TransactionsPerSecond,
    LatencySummary Commit,
    LatencySummary Whole,
    LatencySummary Begin,
    long Aborted,
    string? FirstError,
    double BrokerCpuPercent,
    double HarnessCpuPercent,
    string LoadBefore,
    string LoadAfter,
    long HighWatermark,
    long CommittedRecords,
    long CommittedTransactions);

/// <summary>
/// Issue 4 benchmark: one Confluent.Kafka transactional producer running transactions back to back against a
/// durable broker (<c>lockstep.durability=fsync</c>). Each transaction is BeginTransaction, N synchronous
/// <c>Produce</c> calls (1 KiB values, one partition), CommitTransaction. Measured per transaction: the
/// CommitTransaction call alone (librdkafka flushes the produced records, then sends EndTxn and waits for it), the
/// whole transaction (BeginTransaction → CommitTransaction returned, so it includes producing) and BeginTransaction
/// itself (local in librdkafka; the AddPartitionsToTxn, or with transactions V2 nothing, goes out with the first
/// produce).
/// </summary>
internal static class TransactionScenarios
{
    public static TransactionResult BackToBack(BrokerProcess broker, string topic, int recordsPerTransaction, LoadSettings settings, string transactionalId, string? debug = null, bool backgroundPoll = true)
    {
        var loadBefore = Conditions.LoadAverage();
        var value = new byte[settings.RecordSize];
        new Random(12345).NextBytes(value);
        var commit = new LatencyRecorder(2_000_000);
        var whole = new LatencyRecorder(2_000_000);
        var begin = new LatencyRecorder(2_000_000);
        long transactions = 0, aborted = 0, committedRecords = 0, committedTransactions = 0;
        string? firstError = null;

        var config = new ProducerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            TransactionalId = transactionalId,
            Acks = Acks.All,
            EnableIdempotence = true,
            // linger.ms 0: the commit path is what is measured, not client batching. librdkafka's commit_transaction
            // flushes (ignoring linger) anyway, so the effect of linger is only on when the first batch leaves.
            LingerMs = 0,
            CompressionType = CompressionType.None,
        };
        // Confluent.Kafka's default: a background thread polls librdkafka for delivery reports. CommitTransaction's
        // internal rd_kafka_flush polls the same queue in slices of at most 10 ms (rdkafka.c, rd_kafka_flush), and
        // when the background thread takes the report first the flushing thread only notices at the end of its
        // slice. --txn-background-poll false leaves the reports to the flushing thread (diagnosis of that wait).
        config.Set("dotnet.producer.enable.background.poll", backgroundPoll ? "true" : "false");
        var builder = new ProducerBuilder<Null, byte[]>(config);
        if (debug is not null)
        {
            // Diagnosis only (--txn-debug): librdkafka's own trace with a monotonic timestamp, to see where the time
            // of a transaction goes (requests, responses, retries and back-offs). Slows the run; not for numbers.
            config.Debug = debug;
            builder.SetLogHandler((_, m) => Console.Error.WriteLine(
                $"{Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency:F3} {m.Facility} {m.Message}"));
        }

        using var producer = builder.Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));

        var partition = new TopicPartition(topic, 0);
        var message = new Message<Null, byte[]> { Value = value };
        var windowStart = Stopwatch.GetTimestamp() + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);
        var windowEnd = windowStart + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency);
        var cpuStarted = false;
        double brokerCpuStart = 0, harnessCpuStart = 0;
        long cpuStartTicks = 0;
        while (true)
        {
            var t0 = Stopwatch.GetTimestamp();
            if (t0 >= windowEnd)
            {
                break;
            }

            var measured = t0 >= windowStart;
            if (measured && !cpuStarted)
            {
                cpuStarted = true;
                cpuStartTicks = t0;
                brokerCpuStart = broker.CpuSeconds();
                harnessCpuStart = ProcCpu.Seconds(Environment.ProcessId);
            }

            try
            {
                producer.BeginTransaction();
                var t1 = Stopwatch.GetTimestamp();
                for (var i = 0; i < recordsPerTransaction; i++)
                {
                    // No delivery handler: CommitTransaction only returns once every record is acknowledged (or
                    // fails the commit), so per-record reports add nothing here.
                    producer.Produce(partition, message);
                }

                var t2 = Stopwatch.GetTimestamp();
                producer.CommitTransaction(TimeSpan.FromSeconds(30));
                var t3 = Stopwatch.GetTimestamp();
                committedRecords += recordsPerTransaction;
                committedTransactions++;
                if (measured)
                {
                    begin.Record(t1 - t0);
                    commit.Record(t3 - t2);
                    whole.Record(t3 - t0);
                    transactions++;
                }
            }
            catch (KafkaException e)
            {
                // Any failure is reported; the harness aborts and continues so one error does not end the run.
                firstError ??= e.Error.ToString();
                aborted++;
                producer.AbortTransaction(TimeSpan.FromSeconds(30));
            }
        }

        var wall = Stopwatch.GetElapsedTime(cpuStartTicks).TotalSeconds;
        var brokerCpu = 100 * (broker.CpuSeconds() - brokerCpuStart) / wall;
        var harnessCpu = 100 * (ProcCpu.Seconds(Environment.ProcessId) - harnessCpuStart) / wall;
        return new TransactionResult(
            recordsPerTransaction, transactions, transactions / settings.Duration.TotalSeconds,
            commit.Summarize(), whole.Summarize(), begin.Summarize(), aborted, firstError, brokerCpu, harnessCpu,
            loadBefore, Conditions.LoadAverage(), HighWatermark(broker, topic), committedRecords, committedTransactions);
    }

    private static long HighWatermark(BrokerProcess broker, string topic)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "bench-watermarks",
        }).Build();
        return consumer.QueryWatermarkOffsets(new TopicPartition(topic, 0), TimeSpan.FromSeconds(10)).High.Value;
    }
}
