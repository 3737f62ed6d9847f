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
using Lockstep.DualWrite.Sqlite;
using Lockstep.Protocol.Messages;

namespace Lockstep.Cli.Demo;

/// <summary>Options of <c>lockstep demo</c>.</summary>
internal sealed record DemoOptions(
    int Orders, int Kills, int Workers, string? Database, string? Bootstrap, bool Json, int? Seed);

/// <summary>The final tally of a demo run; <see cref="Agrees"/> decides the exit code.</summary>
internal sealed record DemoSummary(
    int Orders, int Events, int Missing, int Duplicates, int Orphans, int Kills, int Recoveries,
    int RecoveredCommits, int RecoveredAborts, long ElapsedMs)
{
    public bool Agrees => Missing == 0 && Duplicates == 0 && Orphans == 0 && Events == Orders;
}

/// <summary>
/// The parent of <c>lockstep demo</c>: broker, database, the order workload in child worker processes, the killing,
/// and the final comparison of DB rows with read_committed events.
/// </summary>
internal sealed class DemoRunner(DemoOptions options, TextWriter progress)
{
    private const int Partitions = 3;

    /// <summary>Every recipe step boundary, killed once each before any random kill (dual-write.md failure table).</summary>
    private static readonly DualWriteStep[] Steps = Enum.GetValues<DualWriteStep>();

    private readonly Random _random = options.Seed is { } seed ? new Random(seed) : new Random();
    private readonly Lock _gate = new();
    private readonly Queue<KillPlan> _plan = new();
    private int _kills;
    private int _recoveries;
    private int _recoveredCommits;
    private int _recoveredAborts;
    private int _restarts;

    /// <summary>How one worker run is to die: at a step boundary (self-kill) or after a delay (parent's SIGKILL).
    /// </summary>
    private sealed record KillPlan(DualWriteStep? Step, int Occurrence, TimeSpan? Delay)
    {
        public string Describe() => Step is { } step
            ? string.Create(CultureInfo.InvariantCulture, $"after step {(int)step} ({step}), occurrence {Occurrence}")
            : string.Create(CultureInfo.InvariantCulture, $"by the parent {Delay!.Value.TotalMilliseconds:0} ms after start-up");
    }

    public async Task<DemoSummary> RunAsync(CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var tempRoot = Path.Combine(Path.GetTempPath(), "lockstep-demo-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(tempRoot);
        var databasePath = options.Database ?? Path.Combine(tempRoot, "orders.db");
        KafkaBroker? broker = null;
        try
        {
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
            await WriteProgressAsync($"broker {bootstrap}{(broker is null ? "" : " (embedded)")}, database {databasePath}")
                .ConfigureAwait(false);
            await CreateTopicAsync(bootstrap, cancellationToken).ConfigureAwait(false);
            var store = SqliteDualWriteStore.ForFile(databasePath);
            await DemoWorker.CreateOrdersTableAsync(store, cancellationToken).ConfigureAwait(false);

            PlanKills();
            var ranges = SplitOrders();
            await Task.WhenAll(ranges.Select((range, index) => SuperviseAsync(
                index, range.First, range.Last, bootstrap, databasePath, store, cancellationToken))).ConfigureAwait(false);

            var rows = await DemoWorker.ReadPlacedOrdersAsync(store, 1, options.Orders, cancellationToken).ConfigureAwait(false);
            var events = await EventVerifier.ReadCommittedOrderIdsAsync(
                bootstrap, DemoWorker.Topic, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
            var distinct = events.ToHashSet();
            var missing = rows.Where(id => !distinct.Contains(id)).Order().ToList();
            if (missing.Count > 0)
            {
                await WriteProgressAsync("orders without an event: " + string.Join(' ', missing.Take(50))).ConfigureAwait(false);
                foreach (var line in await EventVerifier.DescribeUncommittedAsync(bootstrap, DemoWorker.Topic,
                    missing.ToHashSet(), TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false))
                {
                    await WriteProgressAsync("  " + line).ConfigureAwait(false);
                }
            }

            return new DemoSummary(
                Orders: rows.Count,
                Events: events.Count,
                Missing: rows.Count(id => !distinct.Contains(id)),
                Duplicates: events.Count - distinct.Count,
                Orphans: distinct.Count(id => !rows.Contains(id)),
                Kills: _kills,
                Recoveries: _recoveries,
                RecoveredCommits: _recoveredCommits,
                RecoveredAborts: _recoveredAborts,
                ElapsedMs: stopwatch.ElapsedMilliseconds);
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

    /// <summary>The first kills hit every step boundary once each, in recipe order; the rest are random: half at a
    /// random step, half a parent SIGKILL after a random delay (which lands anywhere, including inside a step).</summary>
    private void PlanKills()
    {
        for (var i = 0; i < options.Kills; i++)
        {
            if (i < Steps.Length)
            {
                var step = Steps[i];
                // Step 1 happens once per process (start-up recovery); the others are killed a few units in.
                _plan.Enqueue(new KillPlan(step, step == DualWriteStep.InitTransactions ? 1 : 1 + _random.Next(3), null));
            }
            else if (_random.Next(2) == 0)
            {
                _plan.Enqueue(new KillPlan(Steps[_random.Next(Steps.Length)], 1 + _random.Next(5), null));
            }
            else
            {
                _plan.Enqueue(new KillPlan(null, 0, TimeSpan.FromMilliseconds(10 + _random.Next(150))));
            }
        }
    }

    private List<(int First, int Last)> SplitOrders()
    {
        var ranges = new List<(int, int)>();
        var per = options.Orders / options.Workers;
        for (var w = 0; w < options.Workers; w++)
        {
            var first = (w * per) + 1;
            var last = w == options.Workers - 1 ? options.Orders : (w + 1) * per;
            ranges.Add((first, last));
        }

        return ranges;
    }

    /// <summary>Runs one worker slot to completion: start the child, let it (or us) kill it, restart, until a run
    /// finishes its whole range.</summary>
    private async Task SuperviseAsync(int worker, int first, int last, string bootstrap, string databasePath,
        SqliteDualWriteStore store, CancellationToken cancellationToken)
    {
        var transactionalId = string.Create(CultureInfo.InvariantCulture, $"lockstep-demo-{worker}");
        var unexpectedFailures = 0;
        var afterKill = false;
        while (true)
        {
            KillPlan? plan;
            lock (_gate)
            {
                _plan.TryDequeue(out plan);
            }

            var run = await RunWorkerAsync(new DemoWorkerArgs(bootstrap, databasePath, transactionalId, first, last,
                plan?.Step, plan?.Occurrence ?? 0), plan?.Delay, cancellationToken).ConfigureAwait(false);

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
                    // The range ran out before the planned kill point; hand the kill to another run.
                    lock (_gate)
                    {
                        _plan.Enqueue(plan);
                    }
                }

                var placed = await CountAsync(store, cancellationToken).ConfigureAwait(false);
                await WriteProgressAsync($"worker {worker} finished its range; orders committed {placed}/{options.Orders}")
                    .ConfigureAwait(false);
                return;
            }

            // 137 = 128 + SIGKILL: how .NET reports a child killed by signal 9 (its self-kill or ours).
            var killed = run.ExitCode == 137 || run.KilledByParent;
            if (!killed)
            {
                // A genuine failure (the worker printed why). Retry a few times: a unit may fail on a busy database,
                // and recovery on restart sorts out its state; give up if it keeps failing.
                if (++unexpectedFailures > 3)
                {
                    throw new InvalidOperationException(
                        $"worker {worker} failed {unexpectedFailures} times without being killed: {run.Error}");
                }

                if (plan is not null)
                {
                    lock (_gate)
                    {
                        _plan.Enqueue(plan);
                    }
                }

                await WriteProgressAsync($"worker {worker} exited with {run.ExitCode}: {run.Error.Trim()}").ConfigureAwait(false);
                afterKill = true;
                continue;
            }

            afterKill = true;
            var kills = Interlocked.Increment(ref _kills);
            var restart = Interlocked.Increment(ref _restarts);
            var committed = await CountAsync(store, cancellationToken).ConfigureAwait(false);
            await WriteProgressAsync(string.Create(CultureInfo.InvariantCulture,
                $"[restart {restart,3}] worker {worker} SIGKILLed {plan!.Describe()}; kills {kills}/{options.Kills}, "
                + $"orders committed {committed}/{options.Orders}{(run.Recovered is null ? "" : ", last start recovered: " + run.Recovered)}"))
                .ConfigureAwait(false);
        }
    }

    private sealed record WorkerRun(int ExitCode, bool KilledByParent, string? Recovered, string Error);

    private static async Task<WorkerRun> RunWorkerAsync(DemoWorkerArgs args, TimeSpan? killAfter, CancellationToken cancellationToken)
    {
        var start = WorkerStartInfo();
        start.ArgumentList.Add(DemoCommand.WorkerCommandName);
        start.ArgumentList.Add("--bootstrap");
        start.ArgumentList.Add(args.BootstrapServers);
        start.ArgumentList.Add("--db");
        start.ArgumentList.Add(args.DatabasePath);
        start.ArgumentList.Add("--transactional-id");
        start.ArgumentList.Add(args.TransactionalId);
        start.ArgumentList.Add("--first");
        start.ArgumentList.Add(args.FirstOrder.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add("--last");
        start.ArgumentList.Add(args.LastOrder.ToString(CultureInfo.InvariantCulture));
        if (args.KillAtStep is { } step)
        {
            start.ArgumentList.Add("--kill-at-step");
            start.ArgumentList.Add(((int)step).ToString(CultureInfo.InvariantCulture));
            start.ArgumentList.Add("--kill-at-occurrence");
            start.ArgumentList.Add(args.KillAtOccurrence.ToString(CultureInfo.InvariantCulture));
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the worker");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        // The first line comes after start-up recovery; timing the kill from there makes it land among the units of
        // work rather than in the runtime's start-up.
        var firstLine = await process.StandardOutput.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? string.Empty;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var killedByParent = false;
        if (killAfter is { } delay)
        {
            var exited = process.WaitForExitAsync(cancellationToken);
            if (await Task.WhenAny(exited, Task.Delay(delay, cancellationToken)).ConfigureAwait(false) != exited)
            {
                // SIGKILL (Process.Kill on Unix): the worker gets no chance to clean up.
                process.Kill();
                killedByParent = true;
            }
        }

        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        var output = firstLine + "\n" + await stdout.ConfigureAwait(false);
        var error = await stderr.ConfigureAwait(false);
        var recovered = output.Split('\n')
            .Where(line => line.StartsWith(DemoWorker.RecoveredPrefix, StringComparison.Ordinal))
            .Select(line => line[DemoWorker.RecoveredPrefix.Length..].Trim())
            .FirstOrDefault();
        return new WorkerRun(process.ExitCode, killedByParent, recovered, error);
    }

    /// <summary>The same CLI binary: the apphost (<c>lockstep</c>) directly, or <c>dotnet lockstep.dll</c> when the
    /// parent itself runs under the muxer.</summary>
    private static ProcessStartInfo WorkerStartInfo()
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("unknown process path");
        var start = new ProcessStartInfo(processPath)
        {
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

    private static async Task CreateTopicAsync(string bootstrap, CancellationToken cancellationToken)
    {
        var client = new KafkaClient(new KafkaProducerOptions { BootstrapServers = bootstrap });
        await using (client.ConfigureAwait(false))
        {
            var response = await client.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(new CreateTopicsRequest
            {
                Topics = [new CreateTopicsRequest.CreatableTopic { Name = DemoWorker.Topic, NumPartitions = Partitions, ReplicationFactor = 1 }],
                timeoutMs = 10_000,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var result = response.Topics.Single();
            // 36 = TOPIC_ALREADY_EXISTS: an external broker may have it from an earlier run; the comparison below
            // then counts that run's events too, so it is reported rather than hidden.
            if (result.ErrorCode is not 0 and not 36)
            {
                throw new InvalidOperationException(
                    $"creating topic '{DemoWorker.Topic}' failed: error {result.ErrorCode} {result.ErrorMessage}");
            }
        }
    }

    private async Task<int> CountAsync(SqliteDualWriteStore store, CancellationToken cancellationToken) =>
        (await DemoWorker.ReadPlacedOrdersAsync(store, 1, options.Orders, cancellationToken).ConfigureAwait(false)).Count;

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
                ["orders"] = summary.Orders,
                ["events"] = summary.Events,
                ["missing"] = summary.Missing,
                ["duplicates"] = summary.Duplicates,
                ["orphans"] = summary.Orphans,
                ["kills"] = summary.Kills,
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
            ("recoveries (completed)", Format(summary.Recoveries)),
            ("  committed by recovery", Format(summary.RecoveredCommits)),
            ("  aborted by recovery", Format(summary.RecoveredAborts)),
            ("elapsed", string.Create(CultureInfo.InvariantCulture, $"{summary.ElapsedMs / 1000.0:0.0} s")),
        ];
        await output.WriteLineAsync().ConfigureAwait(false);
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
