using System.Diagnostics;
using Lockstep.Bench.Broker;
using Lockstep.Client;

namespace Lockstep.Bench.Client;

/// <summary>
/// Lockstep.Client's <see cref="KafkaProducer"/> under the issue 5 workloads. The same shape as
/// <see cref="ConfluentScenarios"/>: one producing thread, one shared record object (both clients copy the value
/// into their batch during the produce call), at most <see cref="RunSettings.MaxOutstanding"/> unacknowledged
/// records, a per-record completion callback that counts acknowledgements inside the window.
/// </summary>
internal static class LockstepScenarios
{
    public const string Name = "Lockstep.Client";

    private static KafkaProducerOptions Options(string bootstrapServers, RunSettings settings, string? transactionalId)
    {
        var options = new KafkaProducerOptions
        {
            BootstrapServers = bootstrapServers,
            ClientId = "bench-lockstep",
            Acks = Acks.All,
            EnableIdempotence = true,
            Linger = TimeSpan.FromMilliseconds(settings.LingerMs),
            BatchSize = settings.BatchSize,
            CompressionType = Lockstep.Protocol.Records.CompressionType.None,
            TransactionalId = transactionalId,
        };
        // buffer.memory must not be what bounds the run: the harness's own outstanding-record cap does, for both
        // clients alike (Confluent's queue.buffering.max.messages is likewise left above it).
        options.BufferMemory = Math.Max(options.BufferMemory, 2L * settings.MaxOutstanding * (settings.RecordSize + 128));
        return options;
    }

    /// <summary>
    /// Produces as fast as the cap on unacknowledged records allows. ProduceAsync never blocks its caller (appends
    /// that wait for buffer space queue up as tasks), so the cap is the harness's: a ring of the last
    /// <see cref="RunSettings.MaxOutstanding"/> delivery tasks; the producing thread waits for the task it is about
    /// to overwrite. Completions are counted by a continuation registered with <c>UnsafeOnCompleted</c> (one cached
    /// delegate, no per-record closure), the cheapest callback the Task API allows.
    /// </summary>
    public static async Task<ThroughputResult> ThroughputAsync(BrokerProcess broker, string topic, RunSettings settings, int round)
    {
        var loadBefore = Conditions.LoadAverage();
        var value = new byte[settings.RecordSize];
        new Random(12345).NextBytes(value);
        var record = new ProducerRecord(topic, null, value);
        var ring = new Task<DeliveryResult>?[settings.MaxOutstanding];
        long completed = 0, inWindow = 0, errors = 0, sent = 0;
        string? firstError = null;
        var window = new Window(settings);
        var meter = new ResourceMeter(broker);
        Action onCompleted = () =>
        {
            Interlocked.Increment(ref completed);
            if (window.Contains(Stopwatch.GetTimestamp()))
            {
                Interlocked.Increment(ref inWindow);
            }
        };

        await using var producer = new KafkaProducer(Options(broker.BootstrapServers, settings, null));
        Usage usage = default;
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

                var slot = (int)(sent % ring.Length);
                if (ring[slot] is { } previous)
                {
                    Harvest(previous, ref errors, ref firstError);
                }

                var task = producer.ProduceAsync(record);
                task.GetAwaiter().UnsafeOnCompleted(onCompleted);
                ring[slot] = task;
                sent++;
            }
        }) { Name = "lockstep-producer" };
        thread.Start();
        thread.Join();

        await producer.FlushAsync();
        foreach (var task in ring)
        {
            if (task is not null)
            {
                Harvest(task, ref errors, ref firstError);
            }
        }

        // The completion callbacks run on the thread pool (RunContinuationsAsynchronously); wait for the last ones.
        var deadline = Stopwatch.GetTimestamp() + (10 * Stopwatch.Frequency);
        while (Interlocked.Read(ref completed) < sent && Stopwatch.GetTimestamp() < deadline)
        {
            Thread.Sleep(1);
        }

        var acknowledged = sent - errors;
        return new ThroughputResult(Name, round, inWindow, inWindow / settings.Duration.TotalSeconds, usage, acknowledged,
            errors, firstError, Watermarks.Sum(broker.BootstrapServers, topic, settings.Partitions),
            loadBefore, Conditions.LoadAverage());
    }

    private static void Harvest(Task<DeliveryResult> task, ref long errors, ref string? firstError)
    {
        if (!task.IsCompleted)
        {
            // Blocks the producing thread until the oldest record in the ring is acknowledged: the back-pressure.
            ((IAsyncResult)task).AsyncWaitHandle.WaitOne();
        }

        if (!task.IsCompletedSuccessfully)
        {
            errors++;
            firstError ??= task.Exception?.InnerException?.Message ?? task.Status.ToString();
        }
    }

    /// <summary>Back to back: BeginTransaction, one ProduceAsync, CommitTransactionAsync (which flushes), then the
    /// record's task (already complete). Whole = begin → commit returned; commit = the commit call alone.</summary>
    public static async Task<TransactionResult> TransactionsAsync(BrokerProcess broker, string topic, RunSettings settings, int round)
    {
        var loadBefore = Conditions.LoadAverage();
        var value = new byte[settings.RecordSize];
        new Random(12345).NextBytes(value);
        var record = new ProducerRecord(topic, null, value) { Partition = 0 };
        var whole = new LatencyRecorder(2_000_000);
        var commit = new LatencyRecorder(2_000_000);
        long transactions = 0, failed = 0, committed = 0;
        string? firstError = null;

        await using var producer = new KafkaProducer(Options(broker.BootstrapServers, settings, $"bench-lockstep-txn-{round}"));
        await producer.InitTransactionsAsync();
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
                var delivery = producer.ProduceAsync(record);
                var t1 = Stopwatch.GetTimestamp();
                await producer.CommitTransactionAsync().ConfigureAwait(false);
                var t2 = Stopwatch.GetTimestamp();
                await delivery.ConfigureAwait(false);
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
                firstError ??= e.Message;
                failed++;
                await producer.AbortTransactionAsync().ConfigureAwait(false);
            }
        }

        var usage = meter.Stop();
        return new TransactionResult(Name, round, transactions, transactions / settings.Duration.TotalSeconds,
            whole.Summarize(), commit.Summarize(), usage, failed, firstError,
            Watermarks.Sum(broker.BootstrapServers, topic, 1), committed, loadBefore, Conditions.LoadAverage());
    }
}
