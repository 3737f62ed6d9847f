using System.Globalization;
using System.Text;

namespace Lockstep.Bench.Broker;

/// <summary>Collects results and renders them as the markdown tables pasted into docs/benchmarks.md.</summary>
internal sealed class Report
{
    private const double OsGoalMBps = 150, DurableGoalMBps = 100, EndToEndP99GoalMs = 20, TransactionP50GoalMs = 3;
    private readonly StringBuilder _conditions = new();
    private readonly List<ProduceResult> _throughput = [];
    private readonly List<ProduceResult> _endToEnd = [];
    private readonly List<string> _notes = [];
    private readonly List<TransactionResult> _transactions = [];
    private string? _limits;
    private double _diskMBps = double.NaN, _tcpMBps = double.NaN;

    public void Conditions(IEnumerable<(string Name, string Value)> rows, HarnessOptions options)
    {
        _conditions.AppendLine("| | |").AppendLine("|---|---|");
        foreach (var (name, value) in rows)
        {
            _conditions.AppendLine(F($"| {name} | {value} |"));
        }

        _conditions.AppendLine("| Broker process | separate child process (this harness with `--broker-child`), runtime-default GC (workstation, concurrent) like `lockstep broker`; the load generator runs workstation non-concurrent GC |");
        _conditions.AppendLine(F($"| Workload | 1 KiB values (random, fixed seed, incompressible), no key; warm-up {options.Warmup.TotalSeconds:0} s then {options.Duration.TotalSeconds:0} s measured per run; machine-limit loops {options.LimitDuration.TotalSeconds:0} s each |"));
        _conditions.AppendLine("| Producer | Confluent.Kafka, acks=all, enable.idempotence=true, linger.ms=5, batch.size=1000000, compression none, other settings default |");
        _conditions.AppendLine("| Transactional producer (transactions) | Confluent.Kafka, transactional.id set, acks=all, enable.idempotence=true, linger.ms=0, compression none; broker lockstep.durability=fsync; one partition; BeginTransaction, N × Produce, CommitTransaction back to back |");
        _conditions.AppendLine("| Consumer (e2e) | Confluent.Kafka, assign all partitions from the beginning, fetch.min.bytes=1, fetch.wait.max.ms default (500) |");
    }

    public void Limits(SyncResult mib, SyncResult small, double tcpMBps, string loadBefore, string loadAfter)
    {
        _diskMBps = mib.MBps;
        _tcpMBps = tcpMBps;
        var s = new StringBuilder();
        s.AppendLine("| Machine limit | Rate | MB/s | p50 | p99 | p99.9 | max |").AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in new[] { mib, small })
        {
            s.AppendLine(F($"| append {Size(r.BlockSize)} + fsync (`FileStream.Flush(true)`) | {r.OpsPerSecond:N0} syncs/s | {r.MBps:N1} | {r.Latency.P50Ms:0.00} ms | {r.Latency.P99Ms:0.00} ms | {r.Latency.P999Ms:0.00} ms | {r.Latency.MaxMs:0.00} ms |"));
        }

        s.AppendLine(F($"| loopback TCP, one connection, 64 KiB writes | | {tcpMBps:N0} | | | | |"));
        s.AppendLine().AppendLine(F($"Load average before / after the limit loops: {loadBefore} / {loadAfter}."));
        _limits = s.ToString();
    }

    public void Throughput(ProduceResult result) => _throughput.Add(result);

    public void EndToEnd(ProduceResult result) => _endToEnd.Add(result);

    public void Note(string note) => _notes.Add(note);

    public void Transaction(TransactionResult result) => _transactions.Add(result);

    public string Render()
    {
        var s = new StringBuilder();
        s.AppendLine("### Conditions").AppendLine().Append(_conditions).AppendLine();
        if (_limits is not null)
        {
            s.AppendLine("### Machine limits (same run)").AppendLine().Append(_limits).AppendLine();
        }

        if (_throughput.Count > 0)
        {
            s.AppendLine("### Throughput (producer as fast as it can)").AppendLine();
            s.AppendLine("| Durability | Partitions | MB/s | records/s | produce p50 | p99 | p99.9 | max | errors | unacked | acked / high watermarks | broker CPU | harness CPU | load before → after |");
            s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var r in _throughput)
            {
                s.AppendLine(F($"| {r.Durability} | {r.Partitions} | {r.MBps:N1} | {r.RecordsPerSecond:N0} | {r.Produce.P50Ms:0.0} ms | {r.Produce.P99Ms:0.0} ms | {r.Produce.P999Ms:0.0} ms | {r.Produce.MaxMs:0.0} ms | {r.Errors} | {r.Unacknowledged} | {r.Acknowledged:N0} / {r.HighWatermarkSum:N0} | {r.BrokerCpuPercent:0}% | {r.HarnessCpuPercent:0}% | {r.LoadBefore} → {r.LoadAfter} |"));
            }

            AppendErrors(s, _throughput);
            foreach (var note in _notes)
            {
                s.AppendLine().AppendLine(note);
            }

            s.AppendLine();
        }

        if (_endToEnd.Count > 0)
        {
            s.AppendLine("### End-to-end latency at a fixed rate").AppendLine();
            s.AppendLine("| Durability | Partitions | target rec/s | achieved MB/s | achieved rec/s | e2e p50 | e2e p99 | e2e p99.9 | e2e max | produce p50 | produce p99 | errors | acked / high watermarks | broker CPU | harness CPU | load before → after |");
            s.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var r in _endToEnd)
            {
                var e = r.EndToEnd!.Value;
                s.AppendLine(F($"| {r.Durability} | {r.Partitions} | {r.TargetRecordsPerSecond:N0} | {r.MBps:N1} | {r.RecordsPerSecond:N0} | {e.P50Ms:0.0} ms | {e.P99Ms:0.0} ms | {e.P999Ms:0.0} ms | {e.MaxMs:0.0} ms | {r.Produce.P50Ms:0.0} ms | {r.Produce.P99Ms:0.0} ms | {r.Errors} | {r.Acknowledged:N0} / {r.HighWatermarkSum:N0} | {r.BrokerCpuPercent:0}% | {r.HarnessCpuPercent:0}% | {r.LoadBefore} → {r.LoadAfter} |"));
            }

            AppendErrors(s, _endToEnd);
            s.AppendLine();
        }

        if (_transactions.Count > 0)
        {
            s.AppendLine("### Transactions (one transactional producer, one partition, durable)").AppendLine();
            s.AppendLine("| records / txn | txn/s | commit p50 | commit p99 | commit max | whole txn p50 | whole p99 | begin p50 | aborted | HW / committed records + markers | broker CPU | harness CPU | load before → after |");
            s.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
            foreach (var r in _transactions)
            {
                s.AppendLine(F($"| {r.RecordsPerTransaction} | {r.TransactionsPerSecond:N0} | {r.Commit.P50Ms:0.00} ms | {r.Commit.P99Ms:0.00} ms | {r.Commit.MaxMs:0.0} ms | {r.Whole.P50Ms:0.00} ms | {r.Whole.P99Ms:0.00} ms | {r.Begin.P50Ms:0.000} ms | {r.Aborted} | {r.HighWatermark:N0} / {r.CommittedRecords + r.CommittedTransactions:N0} | {r.BrokerCpuPercent:0}% | {r.HarnessCpuPercent:0}% | {r.LoadBefore} → {r.LoadAfter} |"));
            }

            foreach (var r in _transactions.Where(r => r.FirstError is not null))
            {
                s.AppendLine().AppendLine(F($"First error ({r.RecordsPerTransaction} records/txn): `{r.FirstError}`"));
            }

            s.AppendLine();
            var one = _transactions.FirstOrDefault(r => r.RecordsPerTransaction == 1);
            if (one is not null)
            {
                s.AppendLine(F($"Goal p50 ≤ {TransactionP50GoalMs:0} ms for a 1-record transaction: commit p50 {one.Commit.P50Ms:0.00} ms, whole p50 {one.Whole.P50Ms:0.00} ms: {(one.Whole.P50Ms <= TransactionP50GoalMs ? "met" : one.Commit.P50Ms <= TransactionP50GoalMs ? "met for the commit call, not for the whole transaction" : "not met")}.")).AppendLine();
            }
        }

        if (_throughput.Count + _endToEnd.Count > 0)
        {
            AppendVerdicts(s);
        }

        return s.ToString();
    }

    private void AppendVerdicts(StringBuilder s)
    {
        s.AppendLine("### Goals").AppendLine();
        s.AppendLine("| Goal | Measured (best partition count) | vs 1 MiB append+fsync limit | vs loopback TCP | Verdict |");
        s.AppendLine("|---|---:|---:|---:|---|");
        foreach (var (mode, goal) in new[] { ("os", OsGoalMBps), ("fsync", DurableGoalMBps) })
        {
            var best = _throughput.Where(r => r.Durability == mode).MaxBy(r => r.MBps);
            if (best is null)
            {
                continue;
            }

            s.AppendLine(F($"| {(mode == "os" ? "OS-flush" : "durable")} ≥ {goal:0} MB/s | {best.MBps:N1} MB/s ({best.Partitions} partitions) | {Ratio(best.MBps, _diskMBps)} | {Ratio(best.MBps, _tcpMBps)} | {(best.MBps >= goal ? "met" : "not met")} |"));
        }

        foreach (var r in _endToEnd)
        {
            var e = r.EndToEnd!.Value;
            var rateMet = r.RecordsPerSecond >= 0.95 * r.TargetRecordsPerSecond;
            var verdict = e.P99Ms <= EndToEndP99GoalMs && rateMet ? "met" : "not met";
            s.AppendLine(F($"| e2e p99 ≤ {EndToEndP99GoalMs:0} ms at {r.TargetRecordsPerSecond * 1024 / 1e6:0} MB/s ({r.Durability}) | p99 {e.P99Ms:0.0} ms at {r.MBps:N1} MB/s | | | {verdict}{(rateMet ? "" : " (rate not reached)")} |"));
        }
    }

    private static void AppendErrors(StringBuilder s, List<ProduceResult> results)
    {
        foreach (var r in results.Where(r => r.FirstError is not null))
        {
            s.AppendLine().AppendLine(F($"First delivery error ({r.Durability}, {r.Partitions} partitions): `{r.FirstError}`"));
        }
    }

    private static string Ratio(double value, double limit) =>
        double.IsNaN(limit) ? "not measured" : F($"{100 * value / limit:0}%");

    private static string Size(int bytes) => bytes >= 1024 * 1024 ? F($"{bytes / (1024 * 1024)} MiB") : F($"{bytes / 1024} KiB");

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
