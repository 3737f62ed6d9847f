using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Cli.Demo;
using Lockstep.Client;
using Lockstep.Client.Admin;
using Lockstep.Protocol;

namespace Lockstep.Cli.Transactions;

/// <summary>The work behind each <c>lockstep transactions</c> subcommand (see <see cref="TransactionsCommand"/>).
/// </summary>
internal static class TransactionsOperations
{
    /// <summary>The states in which a transactional id has a transaction that is not finished.</summary>
    private static readonly string[] s_openStates = ["Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence"];

    /// <summary>What <c>force-terminate</c> says before it acts, in full: the last row of dual-write.md's failure
    /// table is exactly this operation.</summary>
    private const string ForceTerminateWarning =
        "WARNING: force-terminate aborts whatever this transactional id has open and fences its producer WITHOUT "
        + "consulting the database's recorded decision. If the application's database already committed this "
        + "transaction's token (recipe step 7), its rows stay and its events are lost for good: atomicity is broken "
        + "(dual-write.md, failure table, last row). Use `lockstep transactions resolve ID --store SPEC` instead unless "
        + "the database is gone.";

    private static string ResolveFenceWarning(string id) =>
        $"warning: resolve re-attaches to '{id}' with a new producer, which fences the id's current producer: an "
        + "application instance still running with this id fails its next Kafka call as fenced "
        + "(DualWriterFencedException) and must recover before it writes again.";

    /// <summary>The local clock, only for displaying ages (the broker reports start times in Unix ms).</summary>
    private static long NowMs() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

    public static Task<int> ListAsync(ListArguments arguments, CancellationToken cancellationToken) =>
        GuardAsync("list", arguments.Bootstrap, async () =>
        {
            var admin = CreateAdmin(arguments.Bootstrap, arguments.Timeout);
            await using (admin.ConfigureAwait(false))
            {
                var filter = new ListTransactionsFilter
                {
                    // --older-than looks for stuck transactions: an id whose last transaction finished long ago is
                    // not one, although its start time is as old (Kafka's TransactionStateManager filters on it too).
                    States = arguments.States.Length > 0 ? arguments.States
                        : arguments.OlderThan is null ? [] : s_openStates,
                    MinDuration = arguments.OlderThan,
                    TransactionalIdPattern = arguments.Pattern,
                };
                var listings = await admin.ListTransactionsAsync(filter, cancellationToken).ConfigureAwait(false);
                var rows = new List<TransactionDescription>();
                foreach (var listing in listings.OrderBy(l => l.TransactionalId, StringComparer.Ordinal))
                {
                    // ListTransactions has no epoch, start time or partitions: DescribeTransactions fills them in.
                    if (await DescribeOrNullAsync(admin, listing.TransactionalId, cancellationToken).ConfigureAwait(false)
                        is { } description)
                    {
                        rows.Add(description);
                    }
                }

                var nowMs = NowMs();
                if (arguments.Json)
                {
                    await WriteJsonAsync(writer =>
                    {
                        writer.WriteStartArray();
                        foreach (var row in rows)
                        {
                            WriteJson(writer, row, nowMs);
                        }

                        writer.WriteEndArray();
                    }).ConfigureAwait(false);
                }
                else if (rows.Count == 0)
                {
                    await Console.Out.WriteLineAsync("no transactions match.").ConfigureAwait(false);
                }
                else
                {
                    await WriteTableAsync(rows, nowMs).ConfigureAwait(false);
                }

                return ExitCodes.Ok;
            }
        }, cancellationToken);

    public static Task<int> DescribeAsync(DescribeArguments arguments, CancellationToken cancellationToken) =>
        GuardAsync("describe", arguments.Bootstrap, async () =>
        {
            var admin = CreateAdmin(arguments.Bootstrap, arguments.Timeout);
            await using (admin.ConfigureAwait(false))
            {
                var description = await DescribeOrNullAsync(admin, arguments.TransactionalId, cancellationToken)
                    .ConfigureAwait(false);
                if (description is null)
                {
                    return await UnknownIdAsync("describe", arguments.TransactionalId).ConfigureAwait(false);
                }

                var nowMs = NowMs();
                if (arguments.Json)
                {
                    await WriteJsonAsync(writer => WriteJson(writer, description, nowMs)).ConfigureAwait(false);
                    return ExitCodes.Ok;
                }

                var text = new StringBuilder();
                text.AppendLine(CultureInfo.InvariantCulture, $"transactional id  {description.TransactionalId}");
                text.AppendLine(CultureInfo.InvariantCulture, $"state             {StateText(description)}");
                text.AppendLine(CultureInfo.InvariantCulture, $"producer          {ProducerText(description)}");
                text.AppendLine(CultureInfo.InvariantCulture, $"started           {StartedText(description, nowMs)}");
                text.AppendLine(CultureInfo.InvariantCulture, $"timeout           {(IsTwoPhase(description)
                    ? "none (two-phase commit: stays open until resolved)"
                    : description.TransactionTimeoutMs.ToString(CultureInfo.InvariantCulture) + " ms")}");
                text.Append(CultureInfo.InvariantCulture, $"partitions        {PartitionsText(description)}");
                await Console.Out.WriteLineAsync(text.ToString()).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
        }, cancellationToken);

    public static Task<int> ResolveAsync(ResolveArguments arguments, CancellationToken cancellationToken) =>
        GuardAsync("resolve", arguments.Bootstrap, async () =>
        {
            IOrderDatabase database;
            try
            {
                database = OrderDatabases.Open(arguments.StoreSpec);
            }
            catch (Exception e) when (e is NotSupportedException or ArgumentException or FormatException)
            {
                return await FailAsync("resolve", ExitCodes.Usage, $"--store: {e.Message}").ConfigureAwait(false);
            }

            await using (database.ConfigureAwait(false))
            {
                return await ResolveCoreAsync(arguments, database, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken);

    private static async Task<int> ResolveCoreAsync(
        ResolveArguments arguments, IOrderDatabase database, CancellationToken cancellationToken)
    {
        var id = arguments.TransactionalId;
        var admin = CreateAdmin(arguments.Bootstrap, arguments.Timeout);
        await using (admin.ConfigureAwait(false))
        {
            var description = await DescribeOrNullAsync(admin, id, cancellationToken).ConfigureAwait(false);
            if (description is null)
            {
                return await UnknownIdAsync("resolve", id).ConfigureAwait(false);
            }

            var nowMs = NowMs();
            await Console.Out.WriteLineAsync($"transaction {id}: {SummaryText(description, nowMs)}").ConfigureAwait(false);
            if (description.State != "Ongoing")
            {
                await Console.Out.WriteLineAsync(
                    $"nothing prepared: '{id}' has no open transaction (state {description.State}); nothing to do.")
                    .ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            if (!IsTwoPhase(description))
            {
                return await FailAsync("resolve", ExitCodes.Failure,
                    $"'{id}' has an ongoing transaction that is not a two-phase-commit one: it cannot be re-attached "
                    + $"and the coordinator aborts it after its timeout ({description.TransactionTimeoutMs} ms). "
                    + "Use force-terminate to abort it now.").ConfigureAwait(false);
            }

            var recorded = await StoreCallAsync(database,
                () => database.Store.ReadCommittedTokenAsync(id, cancellationToken).AsTask()).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"database {database.Description}: {HeldText(recorded)}").ConfigureAwait(false);
            if (recorded is null)
            {
                // The recipe would abort (no token = no decision), but an operator pointing --store at the wrong
                // database or namespace would then abort transactions that did commit elsewhere: refuse instead.
                return await FailAsync("resolve", ExitCodes.Failure,
                    $"the store has no state row for '{id}', so it holds no decision for it. Check that --store names "
                    + "the application's database (for PostgreSQL and Redis the same schema / key prefix the "
                    + "application uses). Nothing was changed.").ConfigureAwait(false);
            }

            if (arguments.DryRun)
            {
                // The broker's description carries the producer id/epoch the open transaction runs with, which is the
                // token PrepareTransaction returned (Transactions V2: one epoch per transaction, KIP-890).
                var brokerToken = ProducerText(description);
                await Console.Out.WriteLineAsync(
                    $"dry run: prepared {brokerToken} (per the broker), database holds {TokenText(recorded)} → would "
                    + $"{(recorded == brokerToken ? "commit" : "abort")}; nothing was changed.").ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            await Console.Error.WriteLineAsync(ResolveFenceWarning(id))
                .ConfigureAwait(false);
            return await ReattachAndCompleteAsync(arguments, database, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The recovery of dual-write.md §1, run by the operator: re-attach with
    /// <c>InitTransactions(keepPreparedTransaction: true)</c>, lock the state row, <c>CompleteTransaction(stored)</c>
    /// under the lock, release. The lock makes a writer that is between its steps 6 and 7 finish its DB commit (or
    /// roll back) before the decision is read, so the decision read is final.</summary>
    private static async Task<int> ReattachAndCompleteAsync(
        ResolveArguments arguments, IOrderDatabase database, CancellationToken cancellationToken)
    {
        var id = arguments.TransactionalId;
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = arguments.Bootstrap,
            ClientId = "lockstep-transactions",
            TransactionalId = id,
            TransactionTwoPhaseCommitEnable = true,
            MaxBlock = arguments.Timeout,
        });
        await using (producer.ConfigureAwait(false))
        {
            await producer.InitTransactionsAsync(keepPreparedTransaction: true, cancellationToken).ConfigureAwait(false);
            var prepared = producer.PreparedTransaction;
            if (prepared is null)
            {
                await Console.Out.WriteLineAsync(
                    $"nothing prepared: '{id}' had no open transaction when re-attached (it completed meanwhile).")
                    .ConfigureAwait(false);
                return ExitCodes.Ok;
            }

            var transaction = await StoreCallAsync(database,
                () => database.Store.BeginAsync(cancellationToken).AsTask()).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var stored = await StoreCallAsync(database,
                    () => transaction.LockStateAsync(id, cancellationToken).AsTask()).ConfigureAwait(false);
                if (!PreparedTransactionState.TryParse(stored, out var token))
                {
                    return await FailAsync("resolve", ExitCodes.Failure,
                        $"the database holds '{stored}' for '{id}', which is not a prepared-transaction token; "
                        + $"transaction {prepared} stays prepared. Nothing was changed.").ConfigureAwait(false);
                }

                await producer.CompleteTransactionAsync(token!, cancellationToken).ConfigureAwait(false);
                await StoreCallAsync(database, async () =>
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return true;
                }).ConfigureAwait(false);
                await Console.Out.WriteLineAsync(
                    $"prepared {prepared}, database holds {TokenText(stored)} → "
                    + (prepared.Equals(token) ? "committed" : "aborted")).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
        }
    }

    public static Task<int> ForceTerminateAsync(ForceTerminateArguments arguments, CancellationToken cancellationToken) =>
        GuardAsync("force-terminate", arguments.Bootstrap, async () =>
        {
            var id = arguments.TransactionalId;
            var admin = CreateAdmin(arguments.Bootstrap, arguments.Timeout);
            await using (admin.ConfigureAwait(false))
            {
                var description = await DescribeOrNullAsync(admin, id, cancellationToken).ConfigureAwait(false);
                if (description is null)
                {
                    return await UnknownIdAsync("force-terminate", id).ConfigureAwait(false);
                }

                var nowMs = NowMs();
                await Console.Out.WriteLineAsync($"transaction {id}: {SummaryText(description, nowMs)}").ConfigureAwait(false);
                await Console.Error.WriteLineAsync(ForceTerminateWarning).ConfigureAwait(false);
                if (!arguments.Yes && !await ConfirmAsync(id).ConfigureAwait(false))
                {
                    return await FailAsync("force-terminate", ExitCodes.Usage,
                        "not confirmed: nothing was changed. Pass --yes to force-terminate without the prompt.")
                        .ConfigureAwait(false);
                }

                await admin.ForceTerminateTransactionAsync(id, cancellationToken).ConfigureAwait(false);
                await Console.Out.WriteLineAsync(description.State == "Ongoing"
                    ? $"force-terminated '{id}': its open transaction was aborted and its producer fenced, regardless of any database."
                    : $"force-terminated '{id}': it had no open transaction; its producer was fenced.").ConfigureAwait(false);
                return ExitCodes.Ok;
            }
        }, cancellationToken);

    /// <summary>Asks on the terminal; without one (stdin redirected) there is nobody to ask, so the answer is no.
    /// </summary>
    private static async Task<bool> ConfirmAsync(string id)
    {
        if (Console.IsInputRedirected)
        {
            return false;
        }

        await Console.Error.WriteAsync($"Type the transactional id '{id}' to abort it anyway: ").ConfigureAwait(false);
        var answer = await Console.In.ReadLineAsync().ConfigureAwait(false);
        return string.Equals(answer?.Trim(), id, StringComparison.Ordinal);
    }

    private static KafkaAdminClient CreateAdmin(string bootstrap, TimeSpan timeout) => new(new KafkaAdminClientOptions
    {
        BootstrapServers = bootstrap,
        ClientId = "lockstep-transactions",
        DefaultApiTimeout = timeout,
        // One call's budget bounds its attempts too, so an unreachable broker fails within --timeout.
        RequestTimeout = timeout,
        SocketConnectionSetupTimeout = timeout < TimeSpan.FromSeconds(10) ? timeout : TimeSpan.FromSeconds(10),
    });

    private static async Task<TransactionDescription?> DescribeOrNullAsync(
        KafkaAdminClient admin, string id, CancellationToken cancellationToken)
    {
        try
        {
            return (await admin.DescribeTransactionsAsync([id], cancellationToken).ConfigureAwait(false))[0];
        }
        catch (KafkaException e) when (e.ErrorCode == ErrorCode.TransactionalIdNotFound)
        {
            return null;
        }
    }

    /// <summary>KIP-939: the coordinator registers a two-phase-commit transaction with no timeout, which
    /// DescribeTransactions reports as <see cref="int.MaxValue"/> ms (TransactionMetadata's 2PC timeout).</summary>
    private static bool IsTwoPhase(TransactionDescription description) => description.TransactionTimeoutMs == int.MaxValue;

    private static string StateText(TransactionDescription description) =>
        IsTwoPhase(description) && description.State == "Ongoing" ? "Ongoing (2PC)" : description.State;

    private static string ProducerText(TransactionDescription description) =>
        string.Create(CultureInfo.InvariantCulture, $"{description.ProducerId}:{description.ProducerEpoch}");

    private static string AgeText(TransactionDescription description, long nowMs) =>
        description.TransactionStartTimeMs < 0 ? "-"
            : DurationText.Format(TimeSpan.FromMilliseconds(nowMs - description.TransactionStartTimeMs));

    private static string StartedText(TransactionDescription description, long nowMs) =>
        description.TransactionStartTimeMs < 0 ? "- (no open transaction)"
            : string.Create(CultureInfo.InvariantCulture,
                $"{DateTimeOffset.FromUnixTimeMilliseconds(description.TransactionStartTimeMs):yyyy-MM-ddTHH:mm:ss.fffZ} (age {AgeText(description, nowMs)})");

    private static string PartitionsText(TransactionDescription description) =>
        description.Partitions.Count == 0 ? "-"
            : string.Join(", ", description.Partitions.OrderBy(p => p.Topic, StringComparer.Ordinal).ThenBy(p => p.Partition)
                .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Topic}-{p.Partition}")));

    private static string SummaryText(TransactionDescription description, long nowMs) =>
        $"{StateText(description)}, producer {ProducerText(description)}, age {AgeText(description, nowMs)}, "
        + $"partitions {PartitionsText(description)}";

    private static string TokenText(string? token) => string.IsNullOrEmpty(token) ? "nothing" : token;

    private static string HeldText(string? token) =>
        token is null ? "no state row for this id" : "recorded token " + (token.Length == 0 ? "(empty)" : token);

    private static async Task WriteTableAsync(List<TransactionDescription> rows, long nowMs)
    {
        string[] header = ["TRANSACTIONAL ID", "STATE", "PRODUCER", "AGE", "PARTITIONS"];
        var cells = rows.Select(r => new[]
        {
            r.TransactionalId, StateText(r), ProducerText(r), AgeText(r, nowMs), PartitionsText(r),
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, cells.Max(c => c[i].Length))).ToArray();
        var text = new StringBuilder();
        foreach (var line in cells.Prepend(header))
        {
            for (var i = 0; i < line.Length; i++)
            {
                text.Append(i == line.Length - 1 ? line[i] : line[i].PadRight(widths[i] + 2));
            }

            text.Append('\n');
        }

        await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
    }

    private static void WriteJson(Utf8JsonWriter writer, TransactionDescription description, long nowMs)
    {
        writer.WriteStartObject();
        writer.WriteString("transactionalId", description.TransactionalId);
        writer.WriteString("state", description.State);
        writer.WriteBoolean("twoPhaseCommit", IsTwoPhase(description));
        writer.WriteNumber("producerId", description.ProducerId);
        writer.WriteNumber("producerEpoch", description.ProducerEpoch);
        writer.WriteNumber("transactionTimeoutMs", description.TransactionTimeoutMs);
        writer.WriteNumber("transactionStartTimeMs", description.TransactionStartTimeMs);
        if (description.TransactionStartTimeMs >= 0)
        {
            writer.WriteNumber("ageMs", Math.Max(0, nowMs - description.TransactionStartTimeMs));
        }
        else
        {
            writer.WriteNull("ageMs");
        }

        writer.WriteStartArray("partitions");
        foreach (var partition in description.Partitions)
        {
            writer.WriteStartObject();
            writer.WriteString("topic", partition.Topic);
            writer.WriteNumber("partition", partition.Partition);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static async Task WriteJsonAsync(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        await Console.Out.WriteLineAsync(Encoding.UTF8.GetString(buffer.ToArray())).ConfigureAwait(false);
    }

    private static Task<int> UnknownIdAsync(string command, string id) =>
        FailAsync(command, ExitCodes.Failure,
            $"unknown transactional id '{id}': the broker's transaction coordinator does not know it.");

    /// <summary>Runs a store call, turning whatever the store's driver throws (ADO.NET, Redis, …) into one error the
    /// command reports as "store failed".</summary>
    private static async Task<T> StoreCallAsync<T>(IOrderDatabase database, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (OperationCanceledException or KafkaException or StoreException))
        {
            throw new StoreException($"store {database.Description} failed: {e.Message}", e);
        }
    }

    private static async Task<int> GuardAsync(string command, string bootstrap, Func<Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (BrokerCapabilityException e)
        {
            return await FailAsync(command, ExitCodes.Failure, $"the broker at {bootstrap} cannot do this: {e.Message}")
                .ConfigureAwait(false);
        }
        catch (KafkaRetriableException e)
        {
            return await FailAsync(command, ExitCodes.Failure,
                $"the broker at {bootstrap} is unreachable or did not answer in time: {e.Message}").ConfigureAwait(false);
        }
        catch (KafkaException e)
        {
            return await FailAsync(command, ExitCodes.Failure, $"{e.ErrorName}: {e.Message}").ConfigureAwait(false);
        }
        catch (StoreException e)
        {
            return await FailAsync(command, ExitCodes.Failure, e.Message).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            // Option validation of the client (e.g. a malformed --bootstrap).
            return await FailAsync(command, ExitCodes.Usage, e.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return await FailAsync(command, ExitCodes.Failure, "cancelled.").ConfigureAwait(false);
        }
    }

    private static async Task<int> FailAsync(string command, int exitCode, string message)
    {
        await Console.Error.WriteLineAsync($"lockstep transactions {command}: {message}").ConfigureAwait(false);
        return exitCode;
    }

    /// <summary>A failure of the application's store, already described for the operator.</summary>
    private sealed class StoreException(string message, Exception innerException) : Exception(message, innerException);
}
