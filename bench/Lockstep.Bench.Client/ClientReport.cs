using System.Globalization;
using System.Text;

namespace Lockstep.Bench.Client;

/// <summary>Collects the run's results and renders them as markdown tables (the format of docs/benchmarks.md),
/// with a per-client median over the rounds.</summary>
internal sealed class ClientReport(ClientHarnessOptions options)
{
    private readonly StringBuilder _conditions = new();
    private readonly List<ThroughputResult> _throughput = [];
    private readonly List<TransactionResult> _transactions = [];

    public void Conditions(IEnumerable<(string Name, string Value)> conditions, string arguments)
    {
        _conditions.AppendLine("| | |").AppendLine("|---|---|");
        foreach (var (name, value) in conditions)
        {
            _conditions.AppendLine(Inv($"| {name} | {value} |"));
        }

        var s = options.Settings;
        _conditions.AppendLine(Inv($"| Arguments | `{arguments}` |"));
        _conditions.AppendLine(Inv($"| Workload | {s.RecordSize} B values, {s.Warmup.TotalSeconds:0} s warm-up + {s.Duration.TotalSeconds:0} s measured per run, {options.Rounds} rounds, throughput topics {s.Partitions} partitions, transactions 1 partition |"));
        _conditions.AppendLine(Inv($"| Both clients | acks=all, idempotence on, linger.ms={s.LingerMs}, batch.size={s.BatchSize}, compression none, at most {s.MaxOutstanding:N0} unacknowledged records (harness cap) |"));
    }

    public void Throughput(ThroughputResult r)
    {
        _throughput.Add(r);
        if (r.Usage.Profile is { } profile)
        {
            Console.Error.WriteLine($"    profile {r.Client}: {profile}");
        }

        Console.Error.WriteLine(Inv($"    {r.Client}: {r.RecordsPerSecond:N0} rec/s, {r.CpuMicrosecondsPerRecord:F2} µs CPU/rec, {r.AllocatedBytesPerRecord:F0} B/rec, errors {r.Errors}, load {r.LoadBefore} -> {r.LoadAfter}"));
    }

    public void Transaction(TransactionResult r)
    {
        _transactions.Add(r);
        if (r.Usage.Profile is { } profile)
        {
            Console.Error.WriteLine($"    profile {r.Client}: {profile}");
        }

        Console.Error.WriteLine(Inv($"    {r.Client}: {r.TransactionsPerSecond:N0} txn/s, p50 {r.Whole.P50Ms:F2} ms, p99 {r.Whole.P99Ms:F2} ms, failed {r.Failed}, load {r.LoadBefore} -> {r.LoadAfter}"));
    }

    public string Render()
    {
        var sb = new StringBuilder();
        sb.AppendLine("### Conditions").AppendLine().Append(_conditions).AppendLine();
        if (_throughput.Count > 0)
        {
            sb.AppendLine("### Producer throughput (1 KiB, acks=all, idempotent)").AppendLine();
            sb.AppendLine("| Round | Client | records/s | MB/s | CPU µs/record | alloc B/record | gen0 / gen2 GCs | bench / broker CPU | acked = HW sum | errors | load before → after |");
            sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|");
            foreach (var r in _throughput)
            {
                var u = r.Usage;
                sb.AppendLine(Inv($"| {r.Round} | {r.Client} | {r.RecordsPerSecond:N0} | {r.MBps:F1} | {r.CpuMicrosecondsPerRecord:F2} | {r.AllocatedBytesPerRecord:F0} | {u.Gen0} / {u.Gen2} | {100 * u.CpuSeconds / u.WallSeconds:F0}% / {100 * u.BrokerCpuSeconds / u.WallSeconds:F0}% | {r.Acknowledged:N0} {(r.Acknowledged == r.HighWatermarkSum ? "=" : "≠")} {r.HighWatermarkSum:N0} | {r.Errors} | {r.LoadBefore} → {r.LoadAfter} |"));
            }

            sb.AppendLine();
            sb.AppendLine("| Median over rounds | records/s | CPU µs/record | alloc B/record |").AppendLine("|---|---:|---:|---:|");
            foreach (var g in _throughput.GroupBy(r => r.Client))
            {
                sb.AppendLine(Inv($"| {g.Key} | {Median(g.Select(r => r.RecordsPerSecond)):N0} | {Median(g.Select(r => r.CpuMicrosecondsPerRecord)):F2} | {Median(g.Select(r => r.AllocatedBytesPerRecord)):F0} |"));
            }

            sb.AppendLine();
        }

        if (_transactions.Count > 0)
        {
            sb.AppendLine("### Transactions (begin, produce 1 record, commit), durable broker").AppendLine();
            sb.AppendLine("| Round | Client | txn/s | whole p50 | whole p99 | commit p50 | commit p99 | CPU µs/txn | alloc B/txn | bench / broker CPU | failed | HW = records + markers | load before → after |");
            sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
            foreach (var r in _transactions)
            {
                var u = r.Usage;
                sb.AppendLine(Inv($"| {r.Round} | {r.Client} | {r.TransactionsPerSecond:N0} | {r.Whole.P50Ms:F2} ms | {r.Whole.P99Ms:F2} ms | {r.Commit.P50Ms:F2} ms | {r.Commit.P99Ms:F2} ms | {r.CpuMicrosecondsPerTransaction:F0} | {r.AllocatedBytesPerTransaction:F0} | {100 * u.CpuSeconds / u.WallSeconds:F0}% / {100 * u.BrokerCpuSeconds / u.WallSeconds:F0}% | {r.Failed} | {r.HighWatermark:N0} {(r.HighWatermark == 2 * r.CommittedTransactions ? "=" : "≠")} {2 * r.CommittedTransactions:N0} | {r.LoadBefore} → {r.LoadAfter} |"));
            }

            sb.AppendLine();
            sb.AppendLine("| Median over rounds | txn/s | whole p50 | whole p99 |").AppendLine("|---|---:|---:|---:|");
            foreach (var g in _transactions.GroupBy(r => r.Client))
            {
                sb.AppendLine(Inv($"| {g.Key} | {Median(g.Select(r => r.TransactionsPerSecond)):N0} | {Median(g.Select(r => r.Whole.P50Ms)):F2} ms | {Median(g.Select(r => r.Whole.P99Ms)):F2} ms |"));
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN
            : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2]
            : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
