using System.Diagnostics;
using Lockstep.Bench.Broker;

namespace Lockstep.Bench.DualWrite;

/// <summary>
/// A closed-loop load: <c>callers</c> concurrent loops, each starting its next unit as soon as the previous one
/// returned, for a warm-up and then a measured window. A unit counts (and its latency is recorded) when it both
/// started and completed inside the measured window, so units/s is "completed units / window".
/// </summary>
internal static class ClosedLoop
{
    /// <summary>Runs <paramref name="unit"/> (given a run-wide unique unit id) from <paramref name="callers"/> loops.
    /// </summary>
    public static async Task<LoopResult> RunAsync(
        int callers, TimeSpan warmup, TimeSpan duration, UnitIds ids, Func<long, Task> unit, CpuMeters cpu, Action<long, long>? onWindow = null)
    {
        var latency = new LatencyRecorder(4_000_000);
        long measuredFrom = 0, measuredTo = long.MaxValue;
        var stop = 0;
        long completed = 0, errors = 0;
        string? firstError = null;
        var loops = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                var id = ids.Next();
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await unit(id);
                }
#pragma warning disable CA1031 // A benchmark counts failures and reports the first; it must not stop at one.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, $"{e.GetType().Name}: {e.Message}", null);
                    await Task.Delay(10);
                    continue;
                }

                var ended = Stopwatch.GetTimestamp();
                if (started >= Volatile.Read(ref measuredFrom) && ended <= Volatile.Read(ref measuredTo) && Volatile.Read(ref measuredFrom) != 0)
                {
                    latency.Record(ended - started);
                    Interlocked.Increment(ref completed);
                }
            }
        })).ToArray();

        await Task.Delay(warmup);
        var loadBefore = Conditions.LoadAverage();
        var cpuBefore = cpu.Read();
        var from = Stopwatch.GetTimestamp();
        onWindow?.Invoke(from, from + (long)(duration.TotalSeconds * Stopwatch.Frequency));
        Volatile.Write(ref measuredFrom, from);
        await Task.Delay(duration);
        Volatile.Write(ref measuredTo, Stopwatch.GetTimestamp());
        var seconds = Stopwatch.GetElapsedTime(measuredFrom, measuredTo).TotalSeconds;
        var cpuAfter = cpu.Read();
        var cpuPercent = (Harness: 100 * (cpuAfter.Harness - cpuBefore.Harness) / seconds,
            Broker: 100 * (cpuAfter.Broker - cpuBefore.Broker) / seconds, Postgres: 100 * (cpuAfter.Postgres - cpuBefore.Postgres) / seconds);
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(loops);
        return new LoopResult(callers, Interlocked.Read(ref completed) / seconds, latency.Summarize(),
            Interlocked.Read(ref errors), firstError, measuredFrom, measuredTo, loadBefore, Conditions.LoadAverage(),
            cpuPercent.Harness, cpuPercent.Broker, cpuPercent.Postgres);
    }
}

/// <summary>What a closed-loop run measured; <see cref="MeasuredFrom"/>/<see cref="MeasuredTo"/> are Stopwatch
/// timestamps of the window.</summary>
internal sealed record LoopResult(
    int Callers, double UnitsPerSecond, LatencySummary Latency, long Errors, string? FirstError,
    long MeasuredFrom, long MeasuredTo, string LoadBefore, string LoadAfter, double HarnessCpuPercent,
    double BrokerCpuPercent, double PostgresCpuPercent);

/// <summary>CPU seconds used so far by the harness, the broker child and the PostgreSQL server (the postmaster and
/// its live children: backends, WAL writer, checkpointer; NaN when the server is not a local child of ours).</summary>
internal sealed class CpuMeters(Func<double> broker, int? postmasterPid)
{
    public (double Harness, double Broker, double Postgres) Read() =>
        (ProcCpu.Seconds(Environment.ProcessId), broker(), postmasterPid is { } pid ? TreeSeconds(pid) : double.NaN);

    private static double TreeSeconds(int root)
    {
        var total = 0.0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // fields[1] is field 4, the parent pid.
                if (pid == root || fields[1] == root.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    total += ProcCpu.Seconds(pid);
                }
            }
            catch (IOException)
            {
                // The process exited between listing and reading.
            }
        }

        return total;
    }
}

/// <summary>Run-wide unique unit ids (the order ids, so every scenario can share one orders table).</summary>
internal sealed class UnitIds
{
    private long _last;

    public long Last => Interlocked.Read(ref _last);

    public long Next() => Interlocked.Increment(ref _last);
}
