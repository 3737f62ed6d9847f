using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace Lockstep.Bench.Client;

/// <summary>
/// Diagnosis only (<c>--profile true</c>; slows the run, not for the headline numbers): where a run's allocations
/// and CPU go, without dotnet-trace or dotnet-counters. Allocations are sampled from the runtime's own
/// GCAllocationTick event (one event per ≈ 100 KB allocated, naming the type that crossed the threshold), so the
/// per-type shares are statistical. CPU is per thread, from /proc/self/task/TID/stat, grouped by thread name
/// (librdkafka names its threads rdk:…, .NET its pool workers ".NET TP Worker").
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const int AllocationTickEventId = 10;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new();
    private volatile bool _recording;

    public void Start()
    {
        _bytesByType.Clear();
        _recording = true;
    }

    public string Stop(int top)
    {
        _recording = false;
        var total = _bytesByType.Values.Sum();
        var sb = new StringBuilder();
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(top))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{type} {100.0 * bytes / Math.Max(1, total):F0}%; ");
        }

        return sb.ToString();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_recording || eventData.EventId != AllocationTickEventId || eventData.Payload is null)
        {
            return;
        }

        var names = eventData.PayloadNames!;
        var type = names.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
        var amount = names.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], CultureInfo.InvariantCulture) : 0;
        _bytesByType.AddOrUpdate(type, amount, (_, v) => v + amount);
    }
}

/// <summary>CPU seconds per thread-name group of this process, from procfs (Linux).</summary>
internal static class ThreadCpu
{
    public static Dictionary<string, double> Snapshot()
    {
        var result = new Dictionary<string, double>();
        foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var seconds = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
                // Group numbered threads (rdk:broker1, .NET TP Worker) under one name.
                var key = name.StartsWith("rdk:broker", StringComparison.Ordinal) ? "rdk:broker*" : name;
                result[key] = result.GetValueOrDefault(key) + seconds;
            }
            catch (IOException)
            {
                // The thread exited between listing and reading.
            }
        }

        return result;
    }

    public static string Delta(Dictionary<string, double> before, Dictionary<string, double> after, double wallSeconds)
    {
        var sb = new StringBuilder();
        foreach (var (name, seconds) in after.Select(p => (p.Key, p.Value - before.GetValueOrDefault(p.Key))).Where(p => p.Item2 > 0.01).OrderByDescending(p => p.Item2))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{name} {100 * seconds / wallSeconds:F0}%; ");
        }

        return sb.ToString();
    }
}
