using System.Diagnostics;

namespace Lockstep.Bench.Broker;

/// <summary>
/// Collects latency samples (Stopwatch ticks) into a preallocated array, so recording costs no allocation and no
/// lock; percentiles are computed by sorting once at the end. Writers may be concurrent: Confluent's delivery
/// handlers normally run on its poll thread, but <c>Flush</c> also serves them on the calling thread (rd_kafka_flush
/// polls), so slots are claimed with Interlocked. Samples past the capacity are counted but not kept.
/// </summary>
internal sealed class LatencyRecorder(int capacity)
{
    private readonly long[] _samples = new long[capacity];
    private int _count;
    private long _dropped;

    public int Count => Math.Min(Volatile.Read(ref _count), _samples.Length);

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Record(long ticks)
    {
        var slot = Interlocked.Increment(ref _count) - 1;
        if (slot < _samples.Length)
        {
            _samples[slot] = ticks;
        }
        else
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public LatencySummary Summarize()
    {
        var count = Count;
        if (count == 0)
        {
            return new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var span = _samples.AsSpan(0, count);
        span.Sort();
        return new LatencySummary(count, Ms(At(span, 0.50)), Ms(At(span, 0.99)), Ms(At(span, 0.999)), Ms(span[^1]));
    }

    // Nearest-rank percentile: the smallest sample with at least q of the samples at or below it.
    private static long At(ReadOnlySpan<long> sorted, double q)
    {
        var rank = (int)Math.Ceiling(q * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Latency percentiles in milliseconds.</summary>
internal readonly record struct LatencySummary(int Samples, double P50Ms, double P99Ms, double P999Ms, double MaxMs);
