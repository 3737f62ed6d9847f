using System;
using System.CommandLine;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Cli.Demo;
using Lockstep.DualWrite;

namespace Lockstep.Cli;

/// <summary>
/// <c>lockstep demo</c>: the atomic dual-write recipe (dual-write.md §1) under fire. An order workload runs in a child
/// worker process (<c>demo-worker</c>, hidden) that is SIGKILLed at every recipe step boundary and at random moments,
/// then restarted to recover; at the end the DB rows are compared with what a read_committed consumer sees.
/// </summary>
/// <remarks>
/// Output contract: progress lines (one per restart) go to stdout, or to stderr with <c>--json</c>, where stdout holds
/// only the summary object. Exit codes: 0 when DB and Kafka agree exactly, 1 when they disagree or the run failed,
/// 2 for bad options (a <c>--db</c> no store accepts, or more <c>--kills</c> than <c>--orders</c> can absorb).
/// </remarks>
internal static class DemoCommand
{
    /// <summary>Name of the hidden child-process subcommand.</summary>
    public const string WorkerCommandName = "demo-worker";

    public static Command Create()
    {
        var orders = new Option<int>("--orders")
        {
            Description = "Number of orders to place.",
            DefaultValueFactory = _ => 200,
        };
        var kills = new Option<int>("--kills")
        {
            Description = "Number of SIGKILLs, all of which fire; the first 8 hit each recipe step boundary once, the rest "
                + "random steps and random moments. Each worker needs one more order than it has kills.",
            DefaultValueFactory = _ => 20,
        };
        var workers = new Option<int>("--workers")
        {
            Description = "Worker processes, each with its own transactional id and slice of the orders.",
            DefaultValueFactory = _ => 1,
        };
        var database = new Option<string?>("--db")
        {
            Description = "The orders database: " + OrderDatabases.SpecHelp + ". Default: a SQLite file in a temporary "
                + "folder. PostgreSQL and Redis runs use a fresh schema / key prefix of their own.",
            HelpName = "SPEC",
        };
        var bootstrap = new Option<string?>("--bootstrap")
        {
            Description = "Use this Kafka broker instead of starting the embedded one.",
            HelpName = "HOST:PORT",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print the summary as one JSON object (progress goes to stderr).",
        };
        var seed = new Option<int?>("--seed")
        {
            Description = "Seed of the random kill plan, to repeat a run.",
        };

        var command = new Command("demo",
            "Place orders through the atomic DB + Kafka dual write while SIGKILLing the worker; verify DB == Kafka.")
        {
            orders, kills, workers, database, bootstrap, json, seed,
        };
        command.SetAction((parseResult, cancellationToken) => RunAsync(new DemoOptions(
            parseResult.GetValue(orders),
            parseResult.GetValue(kills),
            parseResult.GetValue(workers),
            parseResult.GetValue(database),
            parseResult.GetValue(bootstrap),
            parseResult.GetValue(json),
            parseResult.GetValue(seed)), cancellationToken));
        return command;
    }

    /// <summary>The hidden child: one worker run (see <see cref="DemoWorker"/>).</summary>
    public static Command CreateWorker()
    {
        var bootstrap = new Option<string>("--bootstrap") { Required = true };
        var topic = new Option<string>("--topic") { DefaultValueFactory = _ => DemoWorker.DefaultTopic };
        var database = new Option<string>("--db") { Required = true };
        var transactionalId = new Option<string>("--transactional-id") { Required = true };
        var first = new Option<int>("--first") { Required = true };
        var last = new Option<int>("--last") { Required = true };
        var killAtStep = new Option<int?>("--kill-at-step");
        var killAtOccurrence = new Option<int>("--kill-at-occurrence") { DefaultValueFactory = _ => 1 };
        var holdAfter = new Option<int?>("--hold-after");
        var command = new Command(WorkerCommandName, "Internal: one worker process of lockstep demo.")
        {
            bootstrap, topic, database, transactionalId, first, last, killAtStep, killAtOccurrence, holdAfter,
        };
        command.Hidden = true;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var step = parseResult.GetValue(killAtStep) is { } s ? (DualWriteStep?)s : null;
            try
            {
                return await DemoWorker.RunAsync(new DemoWorkerArgs(
                    parseResult.GetValue(bootstrap)!, parseResult.GetValue(topic)!, parseResult.GetValue(database)!,
                    parseResult.GetValue(transactionalId)!, parseResult.GetValue(first), parseResult.GetValue(last),
                    step, parseResult.GetValue(killAtOccurrence), parseResult.GetValue(holdAfter)), cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception e) when (IsRuntimeFailure(e))
            {
                await Console.Error.WriteLineAsync($"demo-worker: {e}").ConfigureAwait(false);
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(DemoOptions options, CancellationToken cancellationToken)
    {
        if (await ValidateAsync(options).ConfigureAwait(false) is { } problem)
        {
            await Console.Error.WriteLineAsync("lockstep demo: " + problem).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var progress = options.Json ? Console.Error : Console.Out;
        await progress.WriteLineAsync(
            $"lockstep demo: {options.Orders} orders, {options.Kills} kills, {options.Workers} worker(s)").ConfigureAwait(false);
        DemoSummary summary;
        try
        {
            summary = await new DemoRunner(options, progress).RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsRuntimeFailure(e))
        {
            // StackExchange.Redis appends a page of connection diagnostics to its messages; the first part says it.
            var message = e.Message.Length > 400 ? e.Message[..400] + "…" : e.Message;
            await Console.Error.WriteLineAsync("lockstep demo: " + message).ConfigureAwait(false);
            return ExitCodes.Failure;
        }

        await DemoRunner.WriteSummaryAsync(summary, options.Json, Console.Out).ConfigureAwait(false);
        return summary.Agrees ? ExitCodes.Ok : ExitCodes.Failure;
    }

    private static async Task<string?> ValidateAsync(DemoOptions options)
    {
        if (options.Orders < 1)
        {
            return "--orders must be at least 1.";
        }

        if (options.Kills < 0)
        {
            return "--kills must not be negative.";
        }

        if (options.Workers < 1 || options.Workers > options.Orders)
        {
            return "--workers must be between 1 and --orders.";
        }

        if (options.Database is { } db && await ValidateDatabaseAsync(db).ConfigureAwait(false) is { } badDatabase)
        {
            return badDatabase;
        }

        return DemoRunner.CheckFeasible(options);
    }

    /// <summary>Catches what can be caught before the run: an empty value, a SQLite file in a folder that does not
    /// exist, a connection string or endpoint its store cannot parse, a store not built into this binary. Opening
    /// contacts no server, so an unreachable server is a runtime failure (exit 1), reported when the run starts.
    /// </summary>
    private static async Task<string?> ValidateDatabaseAsync(string spec)
    {
        if (string.IsNullOrWhiteSpace(spec))
        {
            return "--db must not be empty; give " + OrderDatabases.SpecHelp + ".";
        }

        if (!OrderDatabases.IsPostgreSql(spec) && !OrderDatabases.IsRedis(spec))
        {
            var path = spec.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase) ? spec[7..] : spec;
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (System.IO.Directory.Exists(path) || (folder is not null && !System.IO.Directory.Exists(folder)))
            {
                return $"--db '{spec}' is not a SQLite file path in an existing folder; give " + OrderDatabases.SpecHelp + ".";
            }

            return null;
        }

        try
        {
            var database = OrderDatabases.Open(spec);
            await database.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException)
        {
            // The stores' own messages may already name the option.
            var message = e.Message.StartsWith("--db", StringComparison.Ordinal) ? e.Message : "--db: " + e.Message;
            return $"{message} (expected {OrderDatabases.SpecHelp}).";
        }
    }

    /// <summary>Failures of the run itself (database, broker, worker), reported in one line with exit code 1 rather
    /// than as a crash.</summary>
    private static bool IsRuntimeFailure(Exception e) =>
        e is DualWriteException or Client.KafkaException or System.Data.Common.DbException or InvalidOperationException
            or TimeoutException or System.IO.IOException or StackExchange.Redis.RedisException or NotSupportedException;
}
