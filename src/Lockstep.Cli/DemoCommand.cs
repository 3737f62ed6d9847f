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
/// 2 for bad options (including databases not supported yet).
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
            Description = "Number of SIGKILLs; the first ones hit each of the 8 recipe step boundaries once.",
            DefaultValueFactory = _ => 20,
        };
        var workers = new Option<int>("--workers")
        {
            Description = "Worker processes, each with its own transactional id and slice of the orders.",
            DefaultValueFactory = _ => 1,
        };
        var database = new Option<string?>("--db")
        {
            Description = "SQLite database file (default: a temporary file). PostgreSQL and Redis are not supported yet.",
            HelpName = "PATH",
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
        var database = new Option<string>("--db") { Required = true };
        var transactionalId = new Option<string>("--transactional-id") { Required = true };
        var first = new Option<int>("--first") { Required = true };
        var last = new Option<int>("--last") { Required = true };
        var killAtStep = new Option<int?>("--kill-at-step");
        var killAtOccurrence = new Option<int>("--kill-at-occurrence") { DefaultValueFactory = _ => 1 };
        var command = new Command(WorkerCommandName, "Internal: one worker process of lockstep demo.")
        {
            bootstrap, database, transactionalId, first, last, killAtStep, killAtOccurrence,
        };
        command.Hidden = true;
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var step = parseResult.GetValue(killAtStep) is { } s ? (DualWriteStep?)s : null;
            try
            {
                return await DemoWorker.RunAsync(new DemoWorkerArgs(
                    parseResult.GetValue(bootstrap)!, parseResult.GetValue(database)!,
                    parseResult.GetValue(transactionalId)!, parseResult.GetValue(first), parseResult.GetValue(last),
                    step, parseResult.GetValue(killAtOccurrence)), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is DualWriteException or Client.KafkaException or System.Data.Common.DbException
                or InvalidOperationException or TimeoutException)
            {
                await Console.Error.WriteLineAsync($"demo-worker: {e}").ConfigureAwait(false);
                return ExitCodes.Failure;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(DemoOptions options, CancellationToken cancellationToken)
    {
        if (Validate(options) is { } problem)
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
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or Client.KafkaException
            or System.Data.Common.DbException or System.IO.IOException)
        {
            await Console.Error.WriteLineAsync("lockstep demo: " + e.Message).ConfigureAwait(false);
            return ExitCodes.Failure;
        }

        await DemoRunner.WriteSummaryAsync(summary, options.Json, Console.Out).ConfigureAwait(false);
        return summary.Agrees ? ExitCodes.Ok : ExitCodes.Failure;
    }

    private static string? Validate(DemoOptions options)
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

        if (options.Database is { } db)
        {
            if (db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
                || db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
                || db.Contains("Host=", StringComparison.OrdinalIgnoreCase))
            {
                return "--db: PostgreSQL is not supported yet (Lockstep.DualWrite.PostgreSql is a later issue); "
                    + "give a SQLite file path.";
            }

            if (db.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)
                || db.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
            {
                return "--db: Redis is not supported yet; give a SQLite file path.";
            }
        }

        return null;
    }
}
