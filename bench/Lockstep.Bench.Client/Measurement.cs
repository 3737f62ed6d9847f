using System.Diagnostics;
using Lockstep.Bench.Broker;

namespace Lockstep.Bench.Client;

/// <summary>What every run shares: record size, timing windows, the client settings both clients get.</summary>
internal sealed record RunSettings(
    int RecordSize, TimeSpan Warmup, TimeSpan Duration, int Partitions, int LingerMs, int BatchSize, int MaxOutstanding);

/// <summary>
/// The measured window of a run: starts after the warm-up, lasts <see cref="RunSettings.Duration"/>. Timestamps are
/// Stopwatch ticks, so delivery callbacks on any thread can test whether they fall inside it.
/// </summary>
internal sealed class Window(RunSettings settings)
{
    public long Start { get; } = Stopwatch.GetTimestamp() + (long)(settings.Warmup.TotalSeconds * Stopwatch.Frequency);

    public long End => Start + (long)(settings.Duration.TotalSeconds * Stopwatch.Frequency);

    public bool Contains(long timestamp) => timestamp >= Start && timestamp < End;
}

/// <summary>
/// The bench process's CPU time (user+system, all threads, librdkafka's native threads included) and the managed
/// bytes it allocated (all threads; native allocations are not counted) between <see cref="StartOnce"/> and
/// <see cref="Stop"/>. The broker runs in a child process, so both deltas are the client's and the harness's own.
/// </summary>
internal sealed class ResourceMeter(BrokerProcess broker)
{
    private Dictionary<string, double>? _threadsStart;
    private long _startTicks;
    private double _cpuStart;
    private double _brokerCpuStart;
    private long _allocatedStart;
    private int _gen0Start;
    private int _gen2Start;
    private bool _started;

    public void StartOnce()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        _startTicks = Stopwatch.GetTimestamp();
        _cpuStart = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        _brokerCpuStart = broker.CpuSeconds();
        _allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
        _gen0Start = GC.CollectionCount(0);
        _gen2Start = GC.CollectionCount(2);
        if (Sampler is not null)
        {
            _threadsStart = ThreadCpu.Snapshot();
            Sampler.Start();
        }
    }

    /// <summary>Set by <c>--profile true</c>: every measured window also samples allocations by type and CPU by
    /// thread.</summary>
    public static AllocationSampler? Sampler { get; set; }

    public Usage Stop()
    {
        var wall = Stopwatch.GetElapsedTime(_startTicks).TotalSeconds;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - _cpuStart;
        var brokerCpu = broker.CpuSeconds() - _brokerCpuStart;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocatedStart;
        var profile = Sampler is null || _threadsStart is null ? null
            : $"CPU by thread: {ThreadCpu.Delta(_threadsStart, ThreadCpu.Snapshot(), wall)} allocations by type (sampled): {Sampler.Stop(16)}";
        return new Usage(wall, cpu, brokerCpu, allocated, GC.CollectionCount(0) - _gen0Start,
            GC.CollectionCount(2) - _gen2Start, profile);
    }
}

/// <summary>Resource use over a measured window: seconds of wall clock, CPU of the bench process and of the broker,
/// managed bytes allocated by the bench process.</summary>
internal readonly record struct Usage(
    double WallSeconds, double CpuSeconds, double BrokerCpuSeconds, long AllocatedBytes, int Gen0, int Gen2, string? Profile);

/// <summary>One throughput run: records acknowledged inside the window and what they cost.</summary>
internal sealed record ThroughputResult(
    string Client,
    int Round,
    long RecordsInWindow,
    double RecordsPerSecond,
    Usage Usage,
    long Acknowledged,
    long Errors,
    string? FirstError,
    long HighWatermarkSum,
    string LoadBefore,
    string LoadAfter)
{
    public double CpuMicrosecondsPerRecord => Usage.CpuSeconds * 1e6 / RecordsInWindow;

    public double AllocatedBytesPerRecord => (double)Usage.AllocatedBytes / RecordsInWindow;

    public double MBps => RecordsPerSecond * 1024 / 1e6;
}

/// <summary>One back-to-back transactions run (begin, produce one record, commit).</summary>
internal sealed record TransactionResult(
    string Client,
    int Round,
    long Transactions,
    double TransactionsPerSecond,
    LatencySummary Whole,
    LatencySummary Commit,
    Usage Usage,
    long Failed,
    string? FirstError,
    long HighWatermark,
    long CommittedTransactions,
    string LoadBefore,
    string LoadAfter)
{
    public double CpuMicrosecondsPerTransaction => Usage.CpuSeconds * 1e6 / Transactions;

    public double AllocatedBytesPerTransaction => (double)Usage.AllocatedBytes / Transactions;
}
