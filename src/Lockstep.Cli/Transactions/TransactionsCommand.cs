using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Linq;

namespace Lockstep.Cli.Transactions;

/// <summary>
/// <c>lockstep transactions list | describe | resolve | force-terminate</c>: operator tooling for the transactions a
/// dual writer leaves open (dual-write.md §2 "Operator tooling that knows the decision"). Kafka's own
/// <c>kafka-transactions.sh</c> can only abort; <c>resolve</c> reads the decision the database recorded and commits or
/// aborts accordingly, exactly as the writer's own recovery would.
/// </summary>
/// <remarks>
/// Output contract: results go to stdout (one JSON document with <c>--json</c>), warnings and errors to stderr.
/// Exit codes (<see cref="ExitCodes"/>): 0 on success (including "nothing to resolve"), 1 for runtime failures (broker
/// unreachable, unknown transactional id, store unreachable, invalid stored token), 2 for bad arguments and for
/// <c>force-terminate</c> refused without <c>--yes</c>.
/// </remarks>
internal static class TransactionsCommand
{
    /// <summary>The transaction states a coordinator reports (Kafka's <c>TransactionState</c> names).</summary>
    public static readonly string[] StateNames =
        ["Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "PrepareEpochFence", "Dead"];

    public static Command Create()
    {
        var command = new Command("transactions",
            "Inspect and resolve Kafka transactions left open by dual writers (KIP-939 two-phase commit).")
        {
            CreateList(), CreateDescribe(), CreateResolve(), CreateForceTerminate(),
        };
        return command;
    }

    private static Command CreateList()
    {
        var (bootstrap, timeout) = ConnectionOptions();
        var olderThan = DurationOption("--older-than",
            "Only open transactions running at least this long (" + DurationText.Help + "); implies the open states "
            + "Ongoing, PrepareCommit, PrepareAbort and PrepareEpochFence unless --state is given.");
        olderThan.HelpName = "DURATION";
        var state = new Option<string[]>("--state")
        {
            Description = "Only transactions in this state (repeatable): " + string.Join(", ", StateNames) + ".",
            HelpName = "STATE",
            Arity = ArgumentArity.OneOrMore,
            CustomParser = ParseStates,
        };
        var pattern = new Option<string?>("--pattern")
        {
            Description = "Only transactional ids matching this regular expression (whole id; ListTransactions v2).",
            HelpName = "REGEX",
        };
        var json = JsonOption();
        var command = new Command("list", "List transactional ids with state, producer, age and partitions.")
        {
            bootstrap, timeout, olderThan, state, pattern, json,
        };
        command.SetAction((parseResult, cancellationToken) => TransactionsOperations.ListAsync(
            new ListArguments(
                parseResult.GetValue(bootstrap)!, Timeout(parseResult, timeout), parseResult.GetValue(olderThan),
                parseResult.GetValue(state) ?? [], parseResult.GetValue(pattern), parseResult.GetValue(json)),
            cancellationToken));
        return command;
    }

    private static Command CreateDescribe()
    {
        var (bootstrap, timeout) = ConnectionOptions();
        var id = TransactionalIdArgument();
        var json = JsonOption();
        var command = new Command("describe", "Show one transactional id: state, producer id/epoch, age, partitions.")
        {
            id, bootstrap, timeout, json,
        };
        command.SetAction((parseResult, cancellationToken) => TransactionsOperations.DescribeAsync(
            new DescribeArguments(parseResult.GetValue(bootstrap)!, Timeout(parseResult, timeout),
                parseResult.GetValue(id)!, parseResult.GetValue(json)),
            cancellationToken));
        return command;
    }

    private static Command CreateResolve()
    {
        var (bootstrap, timeout) = ConnectionOptions();
        var id = TransactionalIdArgument();
        var store = new Option<string>("--store")
        {
            Description = "The application's database holding the dual-write state, as " + Demo.OrderDatabases.SpecHelp
                + ". For PostgreSQL and Redis it must reach the same schema / key prefix the application uses.",
            HelpName = "SPEC",
            Required = true,
        };
        var dryRun = new Option<bool>("--dry-run")
        {
            Description = "Only report what resolve would do; re-attaches to nothing and changes nothing.",
        };
        var command = new Command("resolve",
            "Commit the prepared transaction of ID iff the database recorded its token, else abort it (the writer's own "
            + "recovery). Re-attaching fences a live owner of the id.")
        {
            id, store, bootstrap, timeout, dryRun,
        };
        command.SetAction((parseResult, cancellationToken) => TransactionsOperations.ResolveAsync(
            new ResolveArguments(parseResult.GetValue(bootstrap)!, Timeout(parseResult, timeout),
                parseResult.GetValue(id)!, parseResult.GetValue(store)!, parseResult.GetValue(dryRun)),
            cancellationToken));
        return command;
    }

    private static Command CreateForceTerminate()
    {
        var (bootstrap, timeout) = ConnectionOptions();
        var id = TransactionalIdArgument();
        var yes = new Option<bool>("--yes")
        {
            Description = "Proceed without the interactive confirmation.",
        };
        var command = new Command("force-terminate",
            "Abort whatever ID has open, IGNORING the database's decision (can break atomicity; prefer resolve).")
        {
            id, bootstrap, timeout, yes,
        };
        command.SetAction((parseResult, cancellationToken) => TransactionsOperations.ForceTerminateAsync(
            new ForceTerminateArguments(parseResult.GetValue(bootstrap)!, Timeout(parseResult, timeout),
                parseResult.GetValue(id)!, parseResult.GetValue(yes)),
            cancellationToken));
        return command;
    }

    private static (Option<string> Bootstrap, Option<TimeSpan?> Timeout) ConnectionOptions()
    {
        var bootstrap = new Option<string>("--bootstrap")
        {
            Description = "The Kafka broker (bootstrap.servers).",
            HelpName = "HOST:PORT",
            DefaultValueFactory = _ => "localhost:9092",
        };
        // No DefaultValueFactory: help would print the TimeSpan as 00:00:15; Timeout() applies the default instead.
        var timeout = DurationOption("--timeout",
            "How long each broker call may take, retries included, before the command gives up ("
            + DurationText.Help + "). Default: 15s.");
        return (bootstrap, timeout);
    }

    private static TimeSpan Timeout(ParseResult parseResult, Option<TimeSpan?> timeout) =>
        parseResult.GetValue(timeout) ?? TimeSpan.FromSeconds(15);

    private static Option<TimeSpan?> DurationOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "DURATION",
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : null;
            if (DurationText.TryParse(text, out var duration))
            {
                return duration;
            }

            result.AddError($"{name}: '{text}' is not a duration; use {DurationText.Help}.");
            return null;
        },
    };

    private static string[] ParseStates(ArgumentResult result)
    {
        var states = new string[result.Tokens.Count];
        for (var i = 0; i < states.Length; i++)
        {
            var token = result.Tokens[i].Value;
            var known = StateNames.FirstOrDefault(s => string.Equals(s, token, StringComparison.OrdinalIgnoreCase));
            if (known is null)
            {
                result.AddError($"--state: unknown state '{token}'; use one of {string.Join(", ", StateNames)}.");
                return [];
            }

            states[i] = known;
        }

        return states;
    }

    private static Argument<string> TransactionalIdArgument()
    {
        var id = new Argument<string>("ID") { Description = "The transactional id." };
        id.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
            {
                result.AddError("ID: the transactional id must not be empty.");
            }
        });
        return id;
    }

    private static Option<bool> JsonOption() => new("--json")
    {
        Description = "Print the result as JSON instead of a table.",
    };
}

/// <summary>Arguments of <c>transactions list</c>.</summary>
internal sealed record ListArguments(
    string Bootstrap, TimeSpan Timeout, TimeSpan? OlderThan, string[] States, string? Pattern, bool Json);

/// <summary>Arguments of <c>transactions describe</c>.</summary>
internal sealed record DescribeArguments(string Bootstrap, TimeSpan Timeout, string TransactionalId, bool Json);

/// <summary>Arguments of <c>transactions resolve</c>.</summary>
internal sealed record ResolveArguments(
    string Bootstrap, TimeSpan Timeout, string TransactionalId, string StoreSpec, bool DryRun);

/// <summary>Arguments of <c>transactions force-terminate</c>.</summary>
internal sealed record ForceTerminateArguments(string Bootstrap, TimeSpan Timeout, string TransactionalId, bool Yes);
