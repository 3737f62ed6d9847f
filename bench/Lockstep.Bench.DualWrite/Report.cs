using System.Globalization;
using System.Text;

namespace Lockstep.Bench.DualWrite;

/// <summary>Renders the run as the markdown pasted into docs/benchmarks.md "Dual write (issue 6)".</summary>
internal sealed class Report
{
    private const double ThroughputGoal = 2000, VisibleP50GoalMs = 10, VisibleRatioGoal = 10;
    private readonly List<(string Name, string Value)> _conditions = [];
    private readonly List<ScenarioResult> _results = [];

    public void Condition(string name, string value) => _conditions.Add((name, value));

    public void Add(ScenarioResult result) => _results.Add(result);

    public string Render()
    {
        var s = new StringBuilder();
        s.AppendLine("### Conditions").AppendLine().AppendLine("| | |").AppendLine("|---|---|");
        foreach (var (name, value) in _conditions)
        {
            s.AppendLine(F($"| {name} | {value} |"));
        }

        s.AppendLine().AppendLine("### Results").AppendLine();
        s.AppendLine("| Scenario | callers | units/s | unit p50 | unit p99 | commit→visible p50 | p99 | max | visible / missing / dup | errors | CPU harness / broker / PostgreSQL | CPU ms per unit | load before → after |");
        s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|");
        foreach (var r in _results)
        {
            var l = r.Loop;
            var v = r.Visibility is { } vis
                ? F($"{Ms(vis.Latency.P50Ms)} | {Ms(vis.Latency.P99Ms)} | {Ms(vis.Latency.MaxMs)} | {vis.Latency.Samples:N0} / {vis.Missing} / {vis.Duplicates}{(vis.Unexpected > 0 ? F($" ({vis.Unexpected} unexpected)") : "")}")
                : "| | |";
            s.AppendLine(F($"| {r.Label} | {l.Callers} | {l.UnitsPerSecond:N0} | {Ms(l.Latency.P50Ms)} | {Ms(l.Latency.P99Ms)} | {v} | {l.Errors} | {l.HarnessCpuPercent:0}% / {l.BrokerCpuPercent:0}% / {l.PostgresCpuPercent:0}% | {CpuPerUnit(l):0.00} | {l.LoadBefore} → {l.LoadAfter} |"));
        }

        foreach (var r in _results.Where(r => r.Loop.FirstError is not null || r.Note is not null))
        {
            s.AppendLine().AppendLine(F($"{r.Label}, {r.Loop.Callers} callers: {r.Note}{(r.Loop.FirstError is null ? "" : F($" First error: `{r.Loop.FirstError}`"))}"));
        }

        var traced = _results.Where(r => r.Steps is not null).ToList();
        if (traced.Count > 0)
        {
            s.AppendLine().AppendLine("### Where a Lockstep unit's time goes (IDualWriteObserver step boundaries; p50 / mean, ms)").AppendLine();
            s.Append("| Interval |");
            foreach (var r in traced)
            {
                s.Append(F($" {r.Label[(r.Label.IndexOf(',', StringComparison.Ordinal) + 2)..]} |"));
            }

            s.AppendLine().Append("|---|").AppendLine(string.Concat(traced.Select(_ => "---:|")));
            for (var i = 0; i < traced[0].Steps!.Count; i++)
            {
                s.Append(F($"| {traced[0].Steps![i].Interval} |"));
                foreach (var r in traced)
                {
                    s.Append(F($" {r.Steps![i].P50Ms:0.00} / {r.Steps![i].MeanMs:0.00} |"));
                }

                s.AppendLine();
            }
        }

        AppendGoals(s);
        return s.ToString();
    }

    private void AppendGoals(StringBuilder s)
    {
        s.AppendLine().AppendLine("### Goals").AppendLine();
        s.AppendLine("| Goal | Measured | Verdict |").AppendLine("|---|---|---|");
        var lockstep = _results.Where(r => r.Label.StartsWith("(d)", StringComparison.Ordinal)).ToList();
        var largest = lockstep.MaxBy(r => r.PoolSize * 1000 + r.Loop.Callers);
        if (largest is not null)
        {
            s.AppendLine(F($"| ≥ {ThroughputGoal:N0} units/s with the largest pool | {largest.Loop.UnitsPerSecond:N0} units/s ({largest.Label}, {largest.Loop.Callers} callers) | {(largest.Loop.UnitsPerSecond >= ThroughputGoal ? "met" : "not met")} |"));
        }

        var outboxes = _results.Where(r => r.OutboxInterval is not null && r.Visibility is not null).ToList();
        foreach (var r in lockstep.Where(r => r.Visibility is not null))
        {
            var p50 = r.Visibility!.Value.Latency.P50Ms;
            // The outbox with as many callers as the pool has ids (the same offered concurrency), else the nearest.
            var peers = outboxes.GroupBy(o => o.OutboxInterval!.Value)
                .Select(g => g.MinBy(o => Math.Abs(o.Loop.Callers - r.Loop.Callers))!)
                .OrderByDescending(o => o.OutboxInterval!.Value).ToList();
            var comparisons = peers.Count == 0 ? "no outbox scenario in this run" : string.Join("; ", peers.Select(o =>
                F($"{o.Visibility!.Value.Latency.P50Ms / p50:0.0}× below the {o.OutboxInterval!.Value.TotalMilliseconds:0} ms outbox with {o.Loop.Callers} callers ({Ms(o.Visibility!.Value.Latency.P50Ms)})")));
            var classic = peers.FirstOrDefault();
            var ratio = classic is null ? double.NaN : classic.Visibility!.Value.Latency.P50Ms / p50;
            var all = peers.All(o => o.Visibility!.Value.Latency.P50Ms / p50 >= VisibleRatioGoal);
            var verdict = p50 > VisibleP50GoalMs ? "p50 not met"
                : !(ratio >= VisibleRatioGoal) ? "ratio not met"
                : all ? "met" : "met against the slowest-polling outbox, not against every interval";
            s.AppendLine(F($"| commit→visible p50 ≤ {VisibleP50GoalMs:0} ms, ≥ {VisibleRatioGoal:0}× below the outbox | {r.Label}: {Ms(p50)}; {comparisons} | {verdict} |"));
        }
    }

    /// <summary>CPU milliseconds the three processes spent per completed unit (percent of one core × 10 / rate).
    /// </summary>
    private static double CpuPerUnit(LoopResult l) =>
        (l.HarnessCpuPercent + l.BrokerCpuPercent + (double.IsNaN(l.PostgresCpuPercent) ? 0 : l.PostgresCpuPercent)) * 10 / l.UnitsPerSecond;

    private static string Ms(double ms) => double.IsNaN(ms) ? "–" : F($"{ms:0.00} ms");

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
