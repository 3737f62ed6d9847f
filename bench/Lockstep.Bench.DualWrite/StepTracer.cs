using System.Diagnostics;
using Lockstep.Bench.Broker;
using Lockstep.DualWrite;

namespace Lockstep.Bench.DualWrite;

/// <summary>
/// Where a Lockstep unit's time goes: an <see cref="IDualWriteObserver"/> that stamps each recipe step boundary of the
/// unit running in the current async flow. The caller puts a <see cref="UnitTrace"/> in <see cref="Current"/> before
/// <c>DualWriterPool.ExecuteAsync</c>; the writer calls the observer synchronously on that same flow, so the step
/// reaches the right unit without any lookup. Recovery's notifications (no trace in the flow) are ignored. The DB
/// commit boundary (step 7) is also the unit's commit timestamp for commit-to-visible.
/// </summary>
internal sealed class StepTracer(Visibility visibility) : IDualWriteObserver
{
    /// <summary>Interval names, in order: index i is stamp i → stamp i+1 of <see cref="UnitTrace.Stamps"/>, where
    /// stamp 0 is the caller's ExecuteAsync call, 1-7 are the ends of steps 2-8 and 8 is the return to the caller.
    /// </summary>
    public static readonly string[] Intervals =
    [
        "call → step 2 done: wait for a free id, open a pooled connection, BEGIN, SELECT … FOR UPDATE of the state row",
        "step 3: CompleteTransaction(stored token) (nothing prepared: local)",
        "step 4: BeginTransaction, INSERT the order, ProduceAsync (not awaited)",
        "step 5: PrepareTransaction (flush until the Produce is acknowledged after the broker's fsync; KIP-939 prepare sends no request) + await deliveries",
        "step 6: UPDATE the state row with the token",
        "step 7: DB COMMIT (WAL flush)",
        "step 8: Kafka CommitTransaction (EndTxn: markers + txn log, fsyncs)",
        "step 8 done → caller resumes",
    ];

    private static readonly AsyncLocal<UnitTrace?> s_current = new();
    private readonly LatencyRecorder[] _recorders = [.. Intervals.Select(_ => new LatencyRecorder(1_000_000))];
    private readonly double[] _sums = new double[Intervals.Length];
    private long _from, _to = long.MaxValue;

    public static UnitTrace? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }

    public void OnStepCompleted(string transactionalId, DualWriteStep step)
    {
        if (s_current.Value is not { } trace || step < DualWriteStep.LockState)
        {
            return;
        }

        trace.Stamps[(int)step - 1] = Stopwatch.GetTimestamp();
        if (step == DualWriteStep.CommitDatabase)
        {
            visibility.Committed(trace.UnitId);
        }
    }

    /// <summary>Only units that start and end inside this window are added to the breakdown.</summary>
    public void Window(long from, long to)
    {
        Volatile.Write(ref _from, from);
        Volatile.Write(ref _to, to);
    }

    /// <summary>Adds a finished unit (stamp 8 set by the caller) to the breakdown.</summary>
    public void Finished(UnitTrace trace)
    {
        var s = trace.Stamps;
        if (s[0] < Volatile.Read(ref _from) || s[^1] > Volatile.Read(ref _to) || Volatile.Read(ref _from) == 0 || s.Any(t => t == 0))
        {
            return; // Outside the window, or an unusual path (recovery, in-doubt commit) that skipped a boundary.
        }

        lock (_sums)
        {
            for (var i = 0; i < Intervals.Length; i++)
            {
                var ticks = s[i + 1] - s[i];
                _recorders[i].Record(ticks);
                _sums[i] += ticks * 1000.0 / Stopwatch.Frequency;
            }
        }
    }

    /// <summary>Per interval: p50 and mean in ms.</summary>
    public IReadOnlyList<(string Interval, double P50Ms, double MeanMs)> Summarize()
    {
        var result = new List<(string, double, double)>();
        for (var i = 0; i < Intervals.Length; i++)
        {
            var summary = _recorders[i].Summarize();
            result.Add((Intervals[i], summary.P50Ms, summary.Samples == 0 ? double.NaN : _sums[i] / summary.Samples));
        }

        return result;
    }
}

/// <summary>One Lockstep unit's step timestamps (see <see cref="StepTracer.Intervals"/>).</summary>
internal sealed class UnitTrace(long unitId)
{
    public long UnitId { get; } = unitId;

    public long[] Stamps { get; } = new long[9];
}
