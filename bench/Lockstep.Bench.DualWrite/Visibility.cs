using System.Buffers.Binary;
using System.Diagnostics;
using Lockstep.Bench.Broker;
using Lockstep.Client;

namespace Lockstep.Bench.DualWrite;

/// <summary>
/// Commit-to-visible time per unit: the Stopwatch timestamp right after the unit's database COMMIT returned (recorded
/// by the scenario in this process) and the timestamp at which a read_committed consumer in this process first
/// returned the unit's event (its payload carries the unit id). Both clocks are this process's Stopwatch, so no clock
/// skew enters. Indexed by unit id minus the scenario's first id; preallocated so recording takes no lock.
/// </summary>
/// <remarks>The event cannot carry its own commit timestamp: in the Lockstep scenario the event is produced (and
/// prepared) before the database commits, and in the outbox scenario the outbox row is written inside the
/// transaction, before its commit time is known. So the payload carries the unit id and the commit time is looked up.
/// </remarks>
internal sealed class Visibility(long firstId, int capacity = 1 << 21)
{
    private readonly long[] _committed = new long[capacity];
    private readonly long[] _visible = new long[capacity];
    private readonly int[] _seen = new int[capacity];
    private long _committedCount, _visibleCount, _outOfRange;

    public long CommittedCount => Interlocked.Read(ref _committedCount);

    public long VisibleCount => Interlocked.Read(ref _visibleCount);

    public static byte[] Payload(long unitId)
    {
        // 8-byte unit id + padding to a 100-byte event, roughly an OrderPlaced message.
        var payload = new byte[100];
        BinaryPrimitives.WriteInt64BigEndian(payload, unitId);
        return payload;
    }

    public void Committed(long unitId)
    {
        var now = Stopwatch.GetTimestamp();
        if (Index(unitId) is { } i)
        {
            _committed[i] = now;
            Interlocked.Increment(ref _committedCount);
        }
    }

    public void Seen(byte[]? payload)
    {
        var now = Stopwatch.GetTimestamp();
        if (payload is not { Length: >= 8 } || Index(BinaryPrimitives.ReadInt64BigEndian(payload)) is not { } i)
        {
            Interlocked.Increment(ref _outOfRange);
            return;
        }

        if (Interlocked.Increment(ref _seen[i]) == 1)
        {
            _visible[i] = now;
            Interlocked.Increment(ref _visibleCount);
        }
    }

    /// <summary>Waits until every committed unit's event was seen (or <paramref name="timeout"/>).</summary>
    public async Task WaitForAllAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (VisibleCount < CommittedCount && clock.Elapsed < timeout)
        {
            await Task.Delay(50);
        }
    }

    /// <summary>Commit-to-visible over the units whose commit fell inside the measured window.</summary>
    public VisibilityResult Summarize(long from, long to, long lastId)
    {
        var recorder = new LatencyRecorder(capacity);
        long missing = 0, duplicates = 0, seenNotCommitted = 0;
        var count = (int)Math.Min(capacity, lastId - firstId + 1);
        for (var i = 0; i < count; i++)
        {
            if (_seen[i] > 1)
            {
                duplicates += _seen[i] - 1;
            }

            if (_committed[i] == 0)
            {
                // An event whose unit never committed would be a correctness bug of the scenario (or of Lockstep).
                seenNotCommitted += _seen[i] > 0 ? 1 : 0;
                continue;
            }

            if (_committed[i] < from || _committed[i] > to)
            {
                continue;
            }

            if (_seen[i] == 0)
            {
                missing++;
                continue;
            }

            recorder.Record(Math.Max(0, _visible[i] - _committed[i]));
        }

        return new VisibilityResult(recorder.Summarize(), missing, duplicates, seenNotCommitted + Interlocked.Read(ref _outOfRange));
    }

    private int? Index(long unitId)
    {
        var i = unitId - firstId;
        return i >= 0 && i < capacity ? (int)i : null;
    }
}

/// <summary>Commit-to-visible percentiles and the consistency counts of one scenario.</summary>
internal readonly record struct VisibilityResult(LatencySummary Latency, long Missing, long Duplicates, long Unexpected);

/// <summary>A read_committed <see cref="KafkaConsumer"/> on every partition of a topic from offset 0, started before
/// the scenario, feeding <see cref="Visibility"/>.</summary>
internal sealed class VisibilityConsumer : IAsyncDisposable
{
    private readonly KafkaConsumer _consumer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public VisibilityConsumer(string bootstrap, string topic, int partitions, Visibility visibility)
    {
        _consumer = new KafkaConsumer(new KafkaConsumerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = "bench-visibility",
            IsolationLevel = KafkaConsumerIsolationLevel.ReadCommitted,
            AutoOffsetReset = KafkaConsumerOffsetReset.Earliest,
        });
        _consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartition(topic, p)));
        _loop = Task.Run(async () =>
        {
            await foreach (var record in _consumer.ConsumeAllAsync(_stop.Token))
            {
                visibility.Seen(record.Value);
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        await _consumer.DisposeAsync();
        _stop.Dispose();
    }
}
