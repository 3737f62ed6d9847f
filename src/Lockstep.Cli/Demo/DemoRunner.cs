using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker;
using Lockstep.Client;
using Lockstep.DualWrite;
using Lockstep.Protocol.Messages;

namespace Lockstep.Cli.Demo;

/// <summary>Options of <c>lockstep demo</c>.</summary>
internal sealed record DemoOptions(
    int Orders, int Kills, int Workers, string? Database, string? Bootstrap, bool Json, int? Seed);

/// <summary>The final tally of a demo run; <see cref="Agrees"/> decides the exit code.</summary>
internal sealed record DemoSummary(
    string Store, int Requested, int Orders, int Events, int Missing, int Duplicates, int Orphans, int Kills,
    int StepKills, int TimerKills, int StepsCovered, int Recoveries, int RecoveredCommits, int RecoveredAborts,
    long ElapsedMs)
{
    /// <summary>Every requested order is a row, each row has exactly one read_committed event, no event lacks a row.
    /// </summary>
    public bool Agrees => Missing == 0 && Duplicates == 0 && Orphans == 0 && Events == Orders && Orders == Requested;
}

/// <summary>
/// The parent of <c>lockstep demo</c>: broker, database, the order workload in child worker processes, the killing,
/// and the final comparison of DB rows with read_committed events.
/// </summary>
/// <remarks>
/// Kill schedule. Every planned kill fires: kills are dealt round-robin to the workers up front (the first eight hit
/// the eight step boundaries of dual-write.md §1 once each, the rest are random: a random step of a random unit, or
/// the parent's SIGKILL at a random moment inside a random unit), and each worker run is launched knowing how many of
/// its orders are still uncommitted (<c>r</c>) and how many kills it still owes (<c>k</c>). A run may commit at most
/// <c>r - k</c> units before it dies — a step kill targets a unit within that budget, a timer kill's worker is told to
/// hold (stop and wait) after that many units — so after every kill at least one order per remaining kill is left,
/// and the workload cannot finish while kills remain. That needs <c>r &gt; k</c> at the start:
/// <see cref="CheckFeasible"/>.
/// </remarks>
internal sealed class DemoRunner(DemoOptions options, TextWriter progress)
{
    private const int Partitions = 3;

    /// <summary>Every recipe step boundary, killed once each before any random kill (dual-write.md failure table).</summary>
    private static readonly DualWriteStep[] Steps = Enum.GetValues<DualWriteStep>();

    private readonly Lock _gate = new();
    private readonly HashSet<DualWriteStep> _stepsHit = [];
    private int _kills;
    private int _stepKills;
    private int _timerKills;
    private int _recoveries;
    private int _recoveredCommits;
    private int _recoveredAborts;
    private double _unitMilliseconds = 30; // running estimate of one unit's duration, for timer kills

    /// <summary>How one worker run is to die: right after a recipe step of its <see cref="Unit"/>-th unit (self-kill),
    /// or by the parent at <see cref="Fraction"/> of a unit's typical duration into that unit, the worker holding after
    /// <see cref="HoldAfter"/> units so it cannot finish first.</summary>
    private sealed record KillPlan(DualWriteStep? Step, int Unit, int HoldAfter, double Fraction)
    {
        public string Describe() => Step is { } step
            ? step == DualWriteStep.InitTransactions
                ? "after step 1 (InitTransactions) of start-up recovery"
                : string.Create(CultureInfo.InvariantCulture, $"after step {(int)step} ({step}) of unit {Unit}")
            : string.Create(CultureInfo.InvariantCulture, $"by the parent at a random moment of unit {Unit}");

        /// <summary>Occurrence of <see cref="Step"/> in the worker process: recovery at start-up passes steps 1-3
        /// once before the first unit (DualWriter.RecoverCoreAsync), so steps 2 and 3 of unit U are occurrence U+1.
        /// </summary>
        public int Occurrence => Step switch
        {
            DualWriteStep.InitTransactions => 1,
            DualWriteStep.LockState or DualWriteStep.CompletePrevious => Unit + 1,
            _ => Unit,
        };
    }

    /// <summary>Null when <paramref name="options"/> can fire every kill (see the class remarks), else why not.</summary>
    /// <param name="options">The demo options (orders, kills and workers already validated as positive).</param>
    /// <returns>An error text for the user, or null.</returns>
    public static string? CheckFeasible(DemoOptions options)
    {
        var ranges = SplitOrders(options.Orders, options.Workers);
        for (var worker = 0; worker < ranges.Count; worker++)
        {
            var kills = KillsOf(worker, options.Kills, options.Workers);
            var orders = ranges[worker].Last - ranges[worker].First + 1;
            if (kills >= orders)
            {
                var perWorker = (options.Kills + options.Workers - 1) / options.Workers;
                var minOrders = options.Workers * (perWorker + 1);
                var maxKills = options.Workers * ((options.Orders / options.Workers) - 1);
                return string.Create(CultureInfo.InvariantCulture,
                    $"--kills {options.Kills} cannot all fire with --orders {options.Orders} and --workers {options.Workers}: every kill lands inside a worker's unit of work, and each worker needs one more order than it has kills. Use --orders {minOrders} or more, or --kills {Math.Max(0, maxKills)} or fewer.");
            }
        }

        return null;
    }

    public async Task<DemoSummary> RunAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var runId = "demo_" + Guid.NewGuid().ToString("N")[..12];
        var tempRoot = Path.Combine(Path.GetTempPath(), "lockstep-" + runId);
        Directory.CreateDirectory(tempRoot);
        KafkaBroker? broker = null;
        try
        {
            // PostgreSQL and Redis runs get a fresh schema / key prefix of their own (OrderDatabases.Isolate); a SQLite
            // file is the run's own already.
            var spec = options.Database is { } given
                ? OrderDatabases.Isolate(given, runId)
                : Path.Combine(tempRoot, "orders.db");
            var database = OrderDatabases.Open(spec);
            await using (database.ConfigureAwait(false))
            {
                await database.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
                var existing = (await database.ReadOrderIdsAsync(cancellationToken).ConfigureAwait(false)).Count;
                if (existing > 0)
                {
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"{database.Description} already holds {existing} orders from an earlier run; give --db a new file."));
                }

                if (options.Bootstrap is null)
                {
                    broker = await KafkaBroker.StartAsync(new BrokerOptions
                    {
                        DataDirectory = Path.Combine(tempRoot, "broker"),
                        Listen = "127.0.0.1:0",
                        // The workers are the processes being killed, not the broker: OS-level flushing is enough here.
                        Settings = { ["lockstep.durability"] = "os" },
                    }, cancellationToken).ConfigureAwait(false);
                }

                var bootstrap = options.Bootstrap ?? broker!.BootstrapServers;
                // An external broker may hold an earlier run's events; a topic of the run's own keeps them out.
                var topic = broker is null ? DemoWorker.DefaultTopic + "-" + runId : DemoWorker.DefaultTopic;
                await WriteProgressAsync($"broker {bootstrap}{(broker is null ? "" : " (embedded)")}, topic {topic}, "
                    + $"database {database.Description}").ConfigureAwait(false);
                await CreateTopicAsync(bootstrap, topic, cancellationToken).ConfigureAwait(false);

                var ranges = SplitOrders(options.Orders, options.Workers);
                var plans = PlanKills();
                await Task.WhenAll(ranges.Select((range, index) => SuperviseAsync(
                    index, range.First, range.Last, plans[index], bootstrap, topic, database, cancellationToken)))
                    .ConfigureAwait(false);

                var rows = await database.ReadOrderIdsAsync(cancellationToken).ConfigureAwait(false);
                var events = await EventVerifier.ReadCommittedOrderIdsAsync(
                    bootstrap, topic, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
                var distinct = events.ToHashSet();
                var missing = rows.Where(id => !distinct.Contains(id)).Order().ToList();
                if (missing.Count > 0)
                {
                    await WriteProgressAsync("orders without an event: " + string.Join(' ', missing.Take(50))).ConfigureAwait(false);
                    foreach (var line in await EventVerifier.DescribeUncommittedAsync(bootstrap, topic,
                        missing.ToHashSet(), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false))
                    {
                        await WriteProgressAsync("  " + line).ConfigureAwait(false);
                    }
                }

                return new DemoSummary(
                    Store: database.Description,
                    Requested: options.Orders,
                    Orders: rows.Count,
                    Events: events.Count,
                    Missing: missing.Count,
                    Duplicates: events.Count - distinct.Count,
                    Orphans: distinct.Count(id => !rows.Contains(id)),
                    Kills: _kills,
                    StepKills: _stepKills,
                    TimerKills: _timerKills,
                    StepsCovered: _stepsHit.Count,
                    Recoveries: _recoveries,
                    RecoveredCommits: _recoveredCommits,
                    RecoveredAborts: _recoveredAborts,
                    ElapsedMs: stopwatch.ElapsedMilliseconds);
            }
        }
        finally
        {
            if (broker is not null)
            {
                await broker.DisposeAsync().ConfigureAwait(false);
            }

            TryDelete(tempRoot);
        }
    }

    /// <summary>How many of <paramref name="kills"/> go to <paramref name="worker"/> when dealt round-robin.</summary>
    private static int KillsOf(int worker, int kills, int workers) => (kills / workers) + (worker < kills % workers ? 1 : 0);

    /// <summary>Deals the kills to the workers: kill i goes to worker i mod W. Kills 0-7 are steps 1-8 in recipe
    /// order; the rest are random, half at a random step, half a timer kill (null) that lands anywhere, including
    /// inside a step.</summary>
    private List<Queue<DualWriteStep?>> PlanKills()
    {
        var random = options.Seed is { } seed ? new Random(seed) : new Random();
        var plans = Enumerable.Range(0, options.Workers).Select(_ => new Queue<DualWriteStep?>()).ToList();
        for (var i = 0; i < options.Kills; i++)
        {
            DualWriteStep? step = i < Steps.Length ? Steps[i]
                : random.Next(2) == 0 ? Steps[random.Next(Steps.Length)]
                : null;
            plans[i % options.Workers].Enqueue(step);
        }

        return plans;
    }

    private static List<(int First, int Last)> SplitOrders(int orders, int workers)
    {
        var ranges = new List<(int, int)>();
        var per = orders / workers;
        for (var w = 0; w < workers; w++)
        {
            var first = (w * per) + 1;
            var last = w == workers - 1 ? orders : (w + 1) * per;
            ranges.Add((first, last));
        }

        return ranges;
    }

    /// <summary>Turns the next planned kill into a concrete target for a run that starts with
    /// <paramref name="remaining"/> uncommitted orders and owes <paramref name="kills"/> kills (this one included).
    /// </summary>
    private static KillPlan Target(DualWriteStep? step, int remaining, int kills, Random random)
    {
        // The run may commit at most `budget` units: afterwards one order per remaining kill is still left.
        var budget = remaining - kills;
        // Units to the next kill are drawn from 1..spread, about remaining/kills on average, so the kills spread over
        // the whole range instead of bunching at its start.
        var spread = Math.Max(1, (int)Math.Round(2.0 * remaining / kills));
        if (step is { } s)
        {
            // A kill after step 7 (the DB commit) commits its own unit; before it, the unit rolls back.
            var lastUnit = s >= DualWriteStep.CommitDatabase ? budget : budget + 1;
            var unit = s == DualWriteStep.InitTransactions ? 1 : random.Next(1, Math.Max(1, Math.Min(spread, lastUnit)) + 1);
            return new KillPlan(s, unit, HoldAfter: 0, Fraction: 0);
        }

        var hold = Math.Max(1, Math.Min(spread, budget));
        return new KillPlan(null, random.Next(1, hold + 1), hold, random.NextDouble());
    }

    /// <summary>Runs one worker slot to completion: start the child, let it (or us) kill it, restart, until its kills
    /// are spent and a run finishes its whole range.</summary>
    private async Task SuperviseAsync(int worker, int first, int last, Queue<DualWriteStep?> kills, string bootstrap,
        string topic, IOrderDatabase database, CancellationToken cancellationToken)
    {
        var random = options.Seed is { } seed ? new Random(seed + 1 + worker) : new Random();
        var transactionalId = string.Create(CultureInfo.InvariantCulture, $"lockstep-demo-{worker}");
        var unexpectedFailures = 0;
        var afterKill = false;
        while (true)
        {
            var committed = (await database.ReadOrderIdsAsync(cancellationToken).ConfigureAwait(false))
                .Count(id => id >= first && id <= last);
            var remaining = last - first + 1 - committed;
            KillPlan? plan = null;
            if (kills.TryPeek(out var next))
            {
                if (remaining <= kills.Count)
                {
                    // Cannot happen when CheckFeasible passed (see the class remarks); say so rather than loop.
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"worker {worker} has {remaining} orders left for {kills.Count} kills"));
                }

                plan = Target(next, remaining, kills.Count, random);
            }

            var run = await RunWorkerAsync(new DemoWorkerArgs(bootstrap, topic, database.WorkerSpec, transactionalId,
                first, last, plan?.Step, plan?.Occurrence ?? 0, plan is { Step: null } ? plan.HoldAfter : null),
                plan is { Step: null } ? plan : null, cancellationToken).ConfigureAwait(false);

            if (afterKill && run.Recovered is { } recovered)
            {
                Interlocked.Increment(ref _recoveries);
                if (recovered == nameof(RecoveryOutcome.Committed))
                {
                    Interlocked.Increment(ref _recoveredCommits);
                }
                else if (recovered == nameof(RecoveryOutcome.Aborted))
                {
                    Interlocked.Increment(ref _recoveredAborts);
                }
            }

            if (run.ExitCode == ExitCodes.Ok)
            {
                if (plan is not null)
                {
                    // The schedule above makes this impossible; a silently lost kill would make the count a lie.
                    throw new InvalidOperationException(
                        $"worker {worker} finished its range before the kill planned {plan.Describe()}");
                }

                var placed = await CountAsync(database, cancellationToken).ConfigureAwait(false);
                await WriteProgressAsync($"worker {worker} finished its range; orders committed {placed}/{options.Orders}")
                    .ConfigureAwait(false);
                return;
            }

            // 137 = 128 + SIGKILL: how .NET reports a child killed by signal 9 (its self-kill or ours).
            if (run.ExitCode != 137)
            {
                // A genuine failure (the worker printed why). Retry a few times: a unit may fail on a busy database,
                // and recovery on restart sorts out its state; give up after four failures in a row. The planned
                // kill stays queued for the next run.
                if (++unexpectedFailures > 3)
                {
                    throw new InvalidOperationException(
                        $"worker {worker} failed {unexpectedFailures} times without being killed: {run.Error}");
                }

                await WriteProgressAsync($"worker {worker} exited with {run.ExitCode}: {run.Error.Trim()}").ConfigureAwait(false);
                afterKill = true;
                continue;
            }

            if (plan is null)
            {
                throw new InvalidOperationException($"worker {worker} was SIGKILLed without a planned kill: {run.Error}");
            }

            kills.Dequeue();
            afterKill = true;
            unexpectedFailures = 0;
            int total;
            lock (_gate)
            {
                total = ++_kills;
                if (plan.Step is { } step)
                {
                    _stepKills++;
                    _stepsHit.Add(step);
                }
                else
                {
                    _timerKills++;
                }
            }

            var committedNow = await CountAsync(database, cancellationToken).ConfigureAwait(false);
            var how = plan.Step is null && run.KilledHolding
                ? string.Create(CultureInfo.InvariantCulture, $"by the parent, holding after {plan.HoldAfter} unit(s)")
                : plan.Describe();
            await WriteProgressAsync(string.Create(CultureInfo.InvariantCulture,
                $"[kill {total,3}/{options.Kills}] worker {worker} SIGKILLed {how}; "
                + $"orders committed {committedNow}/{options.Orders}{(run.Recovered is null ? "" : ", its start-up recovery: " + run.Recovered)}"))
                .ConfigureAwait(false);
        }
    }

    private sealed record WorkerRun(int ExitCode, bool KilledHolding, string? Recovered, string Error);

    /// <summary>Runs one worker process to its end. With a timer <paramref name="timerKill"/> the parent SIGKILLs it
    /// at a random moment of the planned unit — measured from the previous unit's completion line — or as soon as it
    /// reports holding, whichever comes first.</summary>
    private async Task<WorkerRun> RunWorkerAsync(DemoWorkerArgs args, KillPlan? timerKill, CancellationToken cancellationToken)
    {
        var start = WorkerStartInfo();
        foreach (var argument in WorkerArguments(args))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the worker");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var exited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var killOnce = 0;
        void Kill()
        {
            if (Interlocked.Exchange(ref killOnce, 1) == 0)
            {
                try
                {
                    // SIGKILL (Process.Kill on Unix): the worker gets no chance to clean up.
                    process.Kill();
                }
                catch (InvalidOperationException)
                {
                    // It exited on its own first (a failure); the exit code tells the supervisor.
                }
            }
        }

        async Task KillAfterAsync(TimeSpan delay)
        {
            try
            {
                await Task.Delay(delay, exited.Token).ConfigureAwait(false);
                Kill();
            }
            catch (OperationCanceledException)
            {
            }
        }

        string? recovered = null;
        var killedHolding = false;
        var timer = Task.CompletedTask;
        var placed = 0;
        var unitClock = Stopwatch.StartNew();
        void ArmIfDue()
        {
            // The planned unit starts when the one before it completed (or recovery finished, for unit 1).
            if (timerKill is not null && placed == timerKill.Unit - 1)
            {
                timer = KillAfterAsync(TimeSpan.FromMilliseconds(timerKill.Fraction * Volatile.Read(ref _unitMilliseconds)));
            }
        }

        while (await process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith(DemoWorker.RecoveredPrefix, StringComparison.Ordinal))
            {
                recovered = line[DemoWorker.RecoveredPrefix.Length..].Trim();
                unitClock.Restart();
                ArmIfDue();
            }
            else if (line.StartsWith(DemoWorker.PlacedPrefix, StringComparison.Ordinal))
            {
                placed++;
                UpdateUnitEstimate(unitClock.Elapsed.TotalMilliseconds);
                unitClock.Restart();
                ArmIfDue();
            }
            else if (line == DemoWorker.HoldingLine && timerKill is not null)
            {
                killedHolding = Interlocked.CompareExchange(ref killOnce, 0, 0) == 0;
                Kill();
            }
        }

        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await exited.CancelAsync().ConfigureAwait(false);
        await timer.ConfigureAwait(false);
        var error = await stderr.ConfigureAwait(false);
        return new WorkerRun(process.ExitCode, killedHolding, recovered, error);
    }

    /// <summary>Exponential moving average of the unit duration the workers report, which scales timer kills to the
    /// store and machine at hand (a Redis unit takes a fraction of a PostgreSQL one).</summary>
    private void UpdateUnitEstimate(double milliseconds)
    {
        lock (_gate)
        {
            _unitMilliseconds = (0.9 * _unitMilliseconds) + (0.1 * milliseconds);
        }
    }

    /// <summary>The <c>demo-worker</c> command line for <paramref name="args"/>.</summary>
    /// <param name="args">The run.</param>
    /// <returns>The arguments after the executable (and the assembly, under the muxer).</returns>
    public static List<string> WorkerArguments(DemoWorkerArgs args)
    {
        List<string> arguments =
        [
            DemoCommand.WorkerCommandName,
            "--bootstrap", args.BootstrapServers,
            "--topic", args.Topic,
            "--db", args.DatabaseSpec,
            "--transactional-id", args.TransactionalId,
            "--first", args.FirstOrder.ToString(CultureInfo.InvariantCulture),
            "--last", args.LastOrder.ToString(CultureInfo.InvariantCulture),
        ];
        if (args.KillAtStep is { } step)
        {
            arguments.AddRange(["--kill-at-step", ((int)step).ToString(CultureInfo.InvariantCulture),
                "--kill-at-occurrence", args.KillAtOccurrence.ToString(CultureInfo.InvariantCulture)]);
        }

        if (args.HoldAfter is { } hold)
        {
            arguments.AddRange(["--hold-after", hold.ToString(CultureInfo.InvariantCulture)]);
        }

        return arguments;
    }

    /// <summary>The same CLI binary: the apphost (<c>lockstep</c>) directly, or <c>dotnet lockstep.dll</c> when the
    /// parent itself runs under the muxer.</summary>
    private static ProcessStartInfo WorkerStartInfo()
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("unknown process path");
        var start = new ProcessStartInfo(processPath)
        {
            // stdin stays open for the worker's life: a holding worker exits when it closes (this process died).
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var entryAssembly = Assembly.GetEntryAssembly()?.Location;
        if (Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            && !string.IsNullOrEmpty(entryAssembly))
        {
            start.ArgumentList.Add(entryAssembly);
        }

        return start;
    }

    private static async Task CreateTopicAsync(string bootstrap, string topic, CancellationToken cancellationToken)
    {
        var client = new KafkaClient(new KafkaProducerOptions { BootstrapServers = bootstrap });
        await using (client.ConfigureAwait(false))
        {
            var response = await client.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
            {
                Topics = [new CreateTopicsRequest.CreatableTopic { Name = topic, NumPartitions = Partitions, ReplicationFactor = 1 }],
                timeoutMs = 10_000,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var result = response.Topics.Single();
            // 36 = TOPIC_ALREADY_EXISTS: only possible for a run-named topic if a run id repeated; the comparison
            // would then count that run's events too, so it is reported rather than hidden.
            if (result.ErrorCode is not 0 and not 36)
            {
                throw new InvalidOperationException(
                    $"creating topic '{topic}' failed: error {result.ErrorCode} {result.ErrorMessage}");
            }
        }
    }

    private static async Task<int> CountAsync(IOrderDatabase database, CancellationToken cancellationToken) =>
        (await database.ReadOrderIdsAsync(cancellationToken).ConfigureAwait(false)).Count;

    private async Task WriteProgressAsync(string line)
    {
        await progress.WriteLineAsync(line).ConfigureAwait(false);
        await progress.FlushAsync().ConfigureAwait(false);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Writes the summary as a table, or as one JSON object.</summary>
    public static async Task WriteSummaryAsync(DemoSummary summary, bool json, TextWriter output)
    {
        if (json)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["store"] = summary.Store,
                ["orders"] = summary.Orders,
                ["events"] = summary.Events,
                ["missing"] = summary.Missing,
                ["duplicates"] = summary.Duplicates,
                ["orphans"] = summary.Orphans,
                ["kills"] = summary.Kills,
                ["stepKills"] = summary.StepKills,
                ["timerKills"] = summary.TimerKills,
                ["stepsCovered"] = summary.StepsCovered,
                ["recoveries"] = summary.Recoveries,
                ["recoveredCommits"] = summary.RecoveredCommits,
                ["recoveredAborts"] = summary.RecoveredAborts,
                ["elapsedMs"] = summary.ElapsedMs,
                ["agree"] = summary.Agrees,
            })).ConfigureAwait(false);
            return;
        }

        (string Name, string Value)[] rows =
        [
            ("orders (DB rows)", Format(summary.Orders)),
            ("events (read_committed)", Format(summary.Events)),
            ("missing (row, no event)", Format(summary.Missing)),
            ("orphans (event, no row)", Format(summary.Orphans)),
            ("duplicates", Format(summary.Duplicates)),
            ("kills (SIGKILL)", Format(summary.Kills)),
            ("  at a recipe step", Format(summary.StepKills)),
            ("  at a random moment", Format(summary.TimerKills)),
            ("  step boundaries hit", string.Create(CultureInfo.InvariantCulture, $"{summary.StepsCovered}/{Steps.Length}")),
            ("recoveries (completed)", Format(summary.Recoveries)),
            ("  committed by recovery", Format(summary.RecoveredCommits)),
            ("  aborted by recovery", Format(summary.RecoveredAborts)),
            ("elapsed", string.Create(CultureInfo.InvariantCulture, $"{summary.ElapsedMs / 1000.0:0.0} s")),
        ];
        await output.WriteLineAsync().ConfigureAwait(false);
        await output.WriteLineAsync($"  store: {summary.Store}").ConfigureAwait(false);
        foreach (var (name, value) in rows)
        {
            await output.WriteLineAsync($"  {name,-26} {value,10}").ConfigureAwait(false);
        }

        await output.WriteLineAsync(summary.Agrees
            ? "\nDB and Kafka agree: every committed order has exactly one event, and no event lacks its order."
            : "\nDB and Kafka DISAGREE.").ConfigureAwait(false);
    }

    private static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);
}
