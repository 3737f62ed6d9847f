using System.Globalization;
using Lockstep.Bench.Broker;

// Issue 3 broker benchmark harness; docs/benchmarks.md "Broker (issue 3)" describes the method and the results.
// `--scenario transactions` is issue 4's transactional-producer benchmark ("Transactions (issue 4)").
// Usage: dotnet run -c Release --project bench/Lockstep.Bench.Broker -- [--seconds N] [--warmup N]
//        [--limit-seconds N] [--scenario all|throughput|latency|limits|transactions] [--partitions 4,1] [--rate 20000]
//        [--txn-sizes 1,100] [--txn-debug LIBRDKAFKA-DEBUG-CONTEXTS (diagnosis: librdkafka trace to stderr)]
//        [--txn-background-poll true|false (Confluent's dotnet.producer.enable.background.poll)]
// Progress goes to stderr; the markdown report goes to stdout.
if (args.Length == 3 && args[0] == "--broker-child")
{
    return await BrokerProcess.RunChildAsync(args[1], args[2]);
}

var options = HarnessOptions.Parse(args);
if (options is null)
{
    await Console.Error.WriteLineAsync(HarnessOptions.Usage);
    return 2;
}

var tempRoot = Path.Combine(Path.GetTempPath(), $"lockstep-bench-broker-{Environment.ProcessId}");
Directory.CreateDirectory(tempRoot);
var report = new Report();
try
{
    report.Conditions(Conditions.Describe(tempRoot), options);
    if (options.Runs("limits"))
    {
        Progress("machine limits");
        var load = Conditions.LoadAverage();
        var mib = MachineLimits.AppendAndSync(tempRoot, 1024 * 1024, options.LimitDuration);
        var small = MachineLimits.AppendAndSync(tempRoot, 4096, options.LimitDuration);
        var tcp = MachineLimits.LoopbackTcpMBps(options.LimitDuration);
        report.Limits(mib, small, tcp, load, Conditions.LoadAverage());
    }

    var settings = new LoadSettings(1024, options.Warmup, options.Duration);
    if (options.Runs("throughput"))
    {
        foreach (var durability in new[] { "fsync", "os" })
        {
            var dataDir = Path.Combine(tempRoot, "throughput-" + durability);
            await using var broker = await BrokerProcess.StartAsync(dataDir, durability);
            foreach (var partitions in options.Partitions)
            {
                var topic = $"tput-{partitions}p";
                await ProduceScenarios.CreateTopicAsync(broker.BootstrapServers, topic, partitions);
                Progress($"throughput durability={durability} partitions={partitions}");
                var result = ProduceScenarios.Throughput(broker, durability, topic, partitions, settings);
                report.Throughput(result);
                if (options.Verify)
                {
                    Progress($"verify {topic} ({durability})");
                    var (read, duplicates, missing, detail) = ProduceScenarios.Verify(broker, topic, partitions);
                    report.Note(FormattableString.Invariant(
                        $"Verify {durability}/{partitions}p: acknowledged {result.Acknowledged:N0}, high watermarks {result.HighWatermarkSum:N0}, read back {read:N0}, duplicates {duplicates:N0}, missing {missing:N0}. {detail}"));
                }
            }
        }
    }

    if (options.Runs("latency"))
    {
        foreach (var durability in options.LatencyModes)
        {
            var dataDir = Path.Combine(tempRoot, "latency-" + durability);
            await using var broker = await BrokerProcess.StartAsync(dataDir, durability);
            const int partitions = 4;
            var topic = "e2e";
            await ProduceScenarios.CreateTopicAsync(broker.BootstrapServers, topic, partitions);
            Progress($"end-to-end durability={durability} rate={options.Rate}/s");
            report.EndToEnd(ProduceScenarios.EndToEnd(broker, durability, topic, partitions, options.Rate, settings));
        }
    }

    if (options.Runs("transactions"))
    {
        // Issue 4: always durable (the goal is for lockstep.durability=fsync); one broker, one topic per size.
        var dataDir = Path.Combine(tempRoot, "transactions-fsync");
        await using var broker = await BrokerProcess.StartAsync(dataDir, "fsync");
        foreach (var size in options.TransactionSizes)
        {
            var topic = $"txn-{size}";
            await ProduceScenarios.CreateTopicAsync(broker.BootstrapServers, topic, 1);
            Progress($"transactions of {size} record(s), durability=fsync");
            report.Transaction(TransactionScenarios.BackToBack(broker, topic, size, settings, $"bench-txn-{size}", options.TransactionDebug, options.TransactionBackgroundPoll));
        }
    }

    Console.Out.Write(report.Render());
    return 0;
}
finally
{
    Directory.Delete(tempRoot, recursive: true);
}

static void Progress(string what) =>
    Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {what} (load {Conditions.LoadAverage()})");

internal sealed record HarnessOptions(
    string Scenario, TimeSpan Duration, TimeSpan Warmup, TimeSpan LimitDuration, int[] Partitions, double Rate,
    string[] LatencyModes, bool Verify = false, int[]? TransactionSizesOption = null, string? TransactionDebug = null, bool TransactionBackgroundPoll = true)
{
    public const string Usage =
        "usage: Lockstep.Bench.Broker [--seconds N=12] [--warmup N=3] [--limit-seconds N=3] "
        + "[--scenario all|throughput|latency|limits] [--partitions 4,1] [--rate 20000] [--latency-modes fsync[,os]] [--verify true] [--txn-sizes 1,100] [--txn-debug eos,protocol] [--txn-background-poll true]";

    public int[] TransactionSizes => TransactionSizesOption ?? [1, 100];

    public bool Runs(string scenario) => Scenario == "all" || Scenario == scenario;

    public static HarnessOptions? Parse(string[] args)
    {
        var o = new HarnessOptions("all", TimeSpan.FromSeconds(12), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3), [4, 1], 20_000, ["fsync"]);
        for (var i = 0; i < args.Length; i++)
        {
            if (i + 1 >= args.Length)
            {
                return null;
            }

            var v = args[++i];
            var inv = CultureInfo.InvariantCulture;
            o = args[i - 1] switch
            {
                "--seconds" => o with { Duration = TimeSpan.FromSeconds(double.Parse(v, inv)) },
                "--warmup" => o with { Warmup = TimeSpan.FromSeconds(double.Parse(v, inv)) },
                "--limit-seconds" => o with { LimitDuration = TimeSpan.FromSeconds(double.Parse(v, inv)) },
                "--scenario" when v is "all" or "throughput" or "latency" or "limits" or "transactions" => o with { Scenario = v },
                "--partitions" => o with { Partitions = v.Split(',').Select(p => int.Parse(p, inv)).ToArray() },
                "--txn-sizes" => o with { TransactionSizesOption = v.Split(',').Select(p => int.Parse(p, inv)).ToArray() },
                "--txn-background-poll" => o with { TransactionBackgroundPoll = bool.Parse(v) },
                "--txn-debug" => o with { TransactionDebug = v },
                "--verify" => o with { Verify = bool.Parse(v) },
                "--rate" => o with { Rate = double.Parse(v, inv) },
                "--latency-modes" when v.Split(',').All(m => m is "fsync" or "os") => o with { LatencyModes = v.Split(',') },
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
