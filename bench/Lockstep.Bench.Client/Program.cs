using System.Globalization;
using Lockstep.Bench.Broker;
using Lockstep.Bench.Client;

// Issue 5 client benchmark; docs/benchmarks.md "Client (issue 5)" describes the method and the results.
// Usage: dotnet run -c Release --project bench/Lockstep.Bench.Client -- [--seconds N=10] [--warmup N=2] [--rounds N=3]
//        [--scenario all|throughput|transactions] [--partitions 4] [--linger-ms 5] [--batch-size 1000000]
//        [--max-outstanding 20000] [--profile true]
// Progress goes to stderr; the markdown report goes to stdout.
if (args.Length == 3 && args[0] == "--broker-child")
{
    return await BrokerProcess.RunChildAsync(args[1], args[2]);
}

var options = ClientHarnessOptions.Parse(args);
if (options is null)
{
    await Console.Error.WriteLineAsync(ClientHarnessOptions.Usage);
    return 2;
}

using var sampler = options.Profile ? new AllocationSampler() : null;
ResourceMeter.Sampler = sampler;
var tempRoot = Path.Combine(Path.GetTempPath(), $"lockstep-bench-client-{Environment.ProcessId}");
Directory.CreateDirectory(tempRoot);
var report = new ClientReport(options);
try
{
    report.Conditions(Conditions.Describe(tempRoot), string.Join(' ', args));
    // One durable broker (lockstep.durability=fsync, the default) for the whole run, in a child process so the
    // bench process's CPU time and allocations are the clients' (issue 3's BrokerProcess).
    await using var broker = await BrokerProcess.StartAsync(Path.Combine(tempRoot, "broker"), "fsync");
    for (var round = 1; round <= options.Rounds; round++)
    {
        // Alternate which client goes first: the machine is shared, and its load drifts within a round.
        var lockstepFirst = round % 2 == 1;
        if (options.Runs("throughput"))
        {
            foreach (var lockstep in lockstepFirst ? new[] { true, false } : [false, true])
            {
                var topic = $"tput-r{round}-{(lockstep ? "lockstep" : "confluent")}";
                await Watermarks.CreateTopicAsync(broker.BootstrapServers, topic, options.Settings.Partitions);
                Progress($"round {round}: throughput {(lockstep ? LockstepScenarios.Name : ConfluentScenarios.Name)}");
                report.Throughput(lockstep
                    ? await LockstepScenarios.ThroughputAsync(broker, topic, options.Settings, round)
                    : ConfluentScenarios.Throughput(broker, topic, options.Settings, round));
            }
        }

        if (options.Runs("transactions"))
        {
            var order = lockstepFirst ? new[] { 0, 1, 2 } : [1, 2, 0];
            foreach (var which in order)
            {
                var topic = $"txn-r{round}-{which}";
                await Watermarks.CreateTopicAsync(broker.BootstrapServers, topic, 1);
                Progress($"round {round}: transactions client {which}");
                report.Transaction(which switch
                {
                    0 => await LockstepScenarios.TransactionsAsync(broker, topic, options.Settings, round),
                    1 => ConfluentScenarios.Transactions(broker, topic, options.Settings, round, backgroundPoll: true),
                    _ => ConfluentScenarios.Transactions(broker, topic, options.Settings, round, backgroundPoll: false),
                });
            }
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

internal sealed record ClientHarnessOptions(string Scenario, int Rounds, RunSettings Settings, bool Profile = false)
{
    public const string Usage =
        "usage: Lockstep.Bench.Client [--seconds N=10] [--warmup N=2] [--rounds N=3] [--scenario all|throughput|transactions] "
        + "[--partitions 4] [--linger-ms 5] [--batch-size 1000000] [--max-outstanding 20000] [--profile true (diagnosis: CPU by thread, sampled allocations by type, to stderr)]";

    public bool Runs(string scenario) => Scenario == "all" || Scenario == scenario;

    public static ClientHarnessOptions? Parse(string[] args)
    {
        var settings = new RunSettings(1024, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), 4, 5, 1_000_000, 20_000);
        ClientHarnessOptions? o = new("all", 3, settings);
        var inv = CultureInfo.InvariantCulture;
        for (var i = 0; i + 1 < args.Length && o is not null; i += 2)
        {
            var v = args[i + 1];
            o = args[i] switch
            {
                "--seconds" => o with { Settings = o.Settings with { Duration = TimeSpan.FromSeconds(double.Parse(v, inv)) } },
                "--warmup" => o with { Settings = o.Settings with { Warmup = TimeSpan.FromSeconds(double.Parse(v, inv)) } },
                "--profile" => o with { Profile = bool.Parse(v) },
                "--rounds" => o with { Rounds = int.Parse(v, inv) },
                "--scenario" when v is "all" or "throughput" or "transactions" => o with { Scenario = v },
                "--partitions" => o with { Settings = o.Settings with { Partitions = int.Parse(v, inv) } },
                "--linger-ms" => o with { Settings = o.Settings with { LingerMs = int.Parse(v, inv) } },
                "--batch-size" => o with { Settings = o.Settings with { BatchSize = int.Parse(v, inv) } },
                "--max-outstanding" => o with { Settings = o.Settings with { MaxOutstanding = int.Parse(v, inv) } },
                _ => null,
            };
        }

        return args.Length % 2 == 0 ? o : null;
    }
}
