using System.Globalization;
using Lockstep.Bench.Broker;
using Lockstep.Bench.DualWrite;
using Npgsql;

// Issue 6 dual-write benchmark; docs/benchmarks.md "Dual write (issue 6)" describes the method and the results.
// Usage: dotnet run -c Release --project bench/Lockstep.Bench.DualWrite -- [--seconds 10] [--warmup 3]
//        [--callers 1,4,16] [--pools 1,4,16] [--outbox-intervals 1000,100] [--outbox-batch 100] [--linger-ms 0]
//        [--scenarios a,b,c,d]
// PostgreSQL: a throwaway cluster started here, or LOCKSTEP_POSTGRES (an Npgsql connection string) when set.
// Progress goes to stderr; the markdown report goes to stdout.
if (args.Length == 3 && args[0] == "--broker-child")
{
    return await BrokerProcess.RunChildAsync(args[1], args[2]);
}

var options = Options.Parse(args);
if (options is null)
{
    await Console.Error.WriteLineAsync(Options.Usage);
    return 2;
}

var tempRoot = Path.Combine(Path.GetTempPath(), $"lockstep-bench-dualwrite-{Environment.ProcessId}");
Directory.CreateDirectory(tempRoot);
var report = new Report();
try
{
    foreach (var (name, value) in Conditions.Describe())
    {
        report.Condition(name, value);
    }

    report.Condition("Command", "`dotnet run -c Release --project bench/Lockstep.Bench.DualWrite --" + (args.Length == 0 ? "" : " " + string.Join(' ', args)) + "`");
    report.Condition("Data directories (PostgreSQL, broker)", $"{tempRoot} ({Conditions.Mount(tempRoot)})");
    Program.Progress("starting PostgreSQL");
    await using var postgres = await PostgresServer.StartAsync(tempRoot);
    report.Condition("PostgreSQL", postgres.Origin);
    report.Condition("PostgreSQL settings (SHOW)", string.Join(", ", (await postgres.SettingsAsync()).Select(s => $"{s.Name}={s.Value}")));
    Program.Progress("starting the broker child");
    await using var broker = await BrokerProcess.StartAsync(Path.Combine(tempRoot, "broker"), "fsync");
    report.Condition("Broker", $"`Lockstep.Broker.KafkaBroker` in a child process of the harness (`--broker-child`, as in the issue 3 harness), runtime-default GC, `lockstep.durability=fsync` (the default: produce acknowledged after fsync, group commit), all other settings default, data in {tempRoot}/broker");
    report.Condition("Topics", "one per scenario, 4 partitions, created before the scenario; events keyed by order id, 100-byte values");
    report.Condition("Producers", F($"Lockstep.Client `KafkaProducer`, acks=all, enable.idempotence=true, linger {options.Linger.TotalMilliseconds:0} ms, other settings default; (b) and the (c) relay share one plain idempotent producer per scenario; (d) one transactional producer per id (`transaction.two.phase.commit.enable`, set by DualWriter)"));
    report.Condition("Lockstep (d)", "`DualWriterPool` over `PostgreSqlDualWriteStore` sharing the harness's NpgsqlDataSource (Max Pool Size 100), default options: leases on (30 s, renewed every 10 s), TotalIds = pool size, one DualWriter and transactional producer per id; callers = pool size; the unit INSERTs the order through `context.CreateNpgsqlCommand` and calls `context.ProduceAsync` once");
    report.Condition("Consumer (commit→visible)", "Lockstep.Client `KafkaConsumer`, isolation read_committed, assigned every partition from offset 0 before the scenario starts, fetch.min.bytes=1, fetch.max.wait 500 ms (the broker answers a waiting fetch as soon as an append or a marker moves the last stable offset); same process as the writers, so commit and visibility use one clock");
    report.Condition("Load", F($"closed loop: each caller starts its next unit when the previous returns; warm-up {options.Warmup.TotalSeconds:0} s, then {options.Duration.TotalSeconds:0} s measured per scenario; only units that start and finish inside the window count; all scenarios in this one process, one after another"));

    var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
    await using (dataSource)
    {
        await Scenarios.CreateSchemaAsync(dataSource);
        var scenarios = new Scenarios(dataSource, broker.BootstrapServers,
            new RunSettings(options.Warmup, options.Duration, options.Linger, options.OutboxBatch),
            new CpuMeters(broker.CpuSeconds, postgres.PostmasterPid));
        // PostgreSQL's first minutes on a fresh cluster include creating WAL segments (16 MB each, written and synced
        // once); an unreported warm-up of the database path keeps that out of the first scenario.
        Program.Progress("warming up PostgreSQL (not reported)");
        await scenarios.DatabaseOnlyAsync(options.Callers.Max(), "(warm-up)");
        if (options.Runs("a"))
        {
            foreach (var callers in options.Callers)
            {
                report.Add(await scenarios.DatabaseOnlyAsync(callers));
            }
        }

        if (options.Runs("b"))
        {
            foreach (var callers in options.Callers)
            {
                report.Add(await scenarios.NaiveAsync(callers));
            }
        }

        if (options.Runs("c"))
        {
            foreach (var interval in options.OutboxIntervals)
            {
                foreach (var callers in options.Callers)
                {
                    report.Add(await scenarios.OutboxAsync(callers, interval));
                }
            }
        }

        if (options.Runs("d"))
        {
            foreach (var pool in options.Pools)
            {
                // Callers = pool size: every id always has a unit ready (the pool is saturated without a queue).
                report.Add(await scenarios.LockstepAsync(pool, pool));
            }
        }

        if (options.Runs("a"))
        {
            // The machine is shared: the same scenario at the end shows how far conditions drifted during the run.
            report.Add(await scenarios.DatabaseOnlyAsync(options.Callers.Max(), "(a) again at the end (drift check)"));
        }
    }

    report.Condition("Load average at end", Conditions.LoadAverage());
    Console.Out.Write(report.Render());
    return 0;
}
finally
{
    try
    {
        Directory.Delete(tempRoot, recursive: true);
    }
    catch (IOException e)
    {
        await Console.Error.WriteLineAsync("could not delete " + tempRoot + ": " + e.Message);
    }
}

static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

/// <summary>Entry point helpers.</summary>
internal static partial class Program
{
    public static void Progress(string what) =>
        Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {what} (load {Conditions.LoadAverage()})");
}

/// <summary>Command-line options.</summary>
internal sealed record Options(
    TimeSpan Duration, TimeSpan Warmup, int[] Callers, int[] Pools, TimeSpan[] OutboxIntervals, int OutboxBatch,
    TimeSpan Linger, string[] Scenarios)
{
    public const string Usage =
        "usage: Lockstep.Bench.DualWrite [--seconds 10] [--warmup 3] [--callers 1,4,16] [--pools 1,4,16] "
        + "[--outbox-intervals 1000,100] [--outbox-batch 100] [--linger-ms 0] [--scenarios a,b,c,d]";

    public bool Runs(string scenario) => Scenarios.Contains(scenario);

    public static Options? Parse(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int[] Ints(string v) => [.. v.Split(',').Select(p => int.Parse(p, inv))];
        var o = new Options(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(3), [1, 4, 16], [1, 4, 16],
            [TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100)], 100, TimeSpan.Zero, ["a", "b", "c", "d"]);
        for (var i = 0; i + 1 < args.Length || i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length)
            {
                return null;
            }

            var v = args[i + 1];
            o = args[i] switch
            {
                "--seconds" => o with { Duration = TimeSpan.FromSeconds(double.Parse(v, inv)) },
                "--warmup" => o with { Warmup = TimeSpan.FromSeconds(double.Parse(v, inv)) },
                "--callers" => o with { Callers = Ints(v) },
                "--pools" => o with { Pools = Ints(v) },
                "--outbox-intervals" => o with { OutboxIntervals = [.. Ints(v).Select(ms => TimeSpan.FromMilliseconds(ms))] },
                "--outbox-batch" => o with { OutboxBatch = int.Parse(v, inv) },
                "--linger-ms" => o with { Linger = TimeSpan.FromMilliseconds(double.Parse(v, inv)) },
                "--scenarios" when v.Split(',').All(s => s is "a" or "b" or "c" or "d") => o with { Scenarios = v.Split(',') },
                _ => null,
            };
            if (o is null)
            {
                return null;
            }
        }

        return o;
    }
}
