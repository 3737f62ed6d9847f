using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client;
using Lockstep.DualWrite;
using Lockstep.DualWrite.Sqlite;

namespace Lockstep.Cli.Demo;

/// <summary>What the parent asks one worker run to do.</summary>
/// <param name="BootstrapServers">Kafka bootstrap servers.</param>
/// <param name="DatabasePath">The SQLite file shared by every worker and the parent.</param>
/// <param name="TransactionalId">The worker's Kafka transactional id (and state-row key).</param>
/// <param name="FirstOrder">First order id of the worker's range.</param>
/// <param name="LastOrder">Last order id of the worker's range (inclusive).</param>
/// <param name="KillAtStep">Kill this process right after this recipe step, or null for no self-kill.</param>
/// <param name="KillAtOccurrence">Which occurrence of <paramref name="KillAtStep"/> (1 = the first, which for steps 2
/// and 3 is the one inside start-up recovery).</param>
internal sealed record DemoWorkerArgs(
    string BootstrapServers, string DatabasePath, string TransactionalId, int FirstOrder, int LastOrder,
    DualWriteStep? KillAtStep, int KillAtOccurrence);

/// <summary>
/// The <c>demo-worker</c> child process: recovers its transactional id, then places every order of its range that is
/// not in the database yet, one dual-write unit per order (INSERT the row, produce OrderPlaced keyed by order id).
/// The parent SIGKILLs it, or it SIGKILLs itself at a chosen recipe step, and starts it again.
/// </summary>
internal static class DemoWorker
{
    /// <summary>Topic of the OrderPlaced events.</summary>
    public const string Topic = "orders";

    /// <summary>First stdout line after start-up recovery: <c>recovered: &lt;RecoveryOutcome&gt;</c>.</summary>
    public const string RecoveredPrefix = "recovered: ";

    public static async Task<int> RunAsync(DemoWorkerArgs args, CancellationToken cancellationToken)
    {
        var store = SqliteDualWriteStore.ForFile(args.DatabasePath);
        await CreateOrdersTableAsync(store, cancellationToken).ConfigureAwait(false);

        var writer = new DualWriter(store, new DualWriterOptions
        {
            TransactionalId = args.TransactionalId,
            BootstrapServers = args.BootstrapServers,
            // linger 0: each unit produces one record and flushes at prepare anyway; lingering only adds latency.
            ConfigureProducer = options => options.Linger = TimeSpan.Zero,
            Observer = args.KillAtStep is { } step ? new SelfKillObserver(step, args.KillAtOccurrence) : null,
        });
        await using (writer.ConfigureAwait(false))
        {
            var outcome = await writer.RecoverAsync(cancellationToken).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(RecoveredPrefix + outcome).ConfigureAwait(false);
            await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);

            var done = await ReadPlacedOrdersAsync(store, args.FirstOrder, args.LastOrder, cancellationToken).ConfigureAwait(false);
            for (var orderId = args.FirstOrder; orderId <= args.LastOrder; orderId++)
            {
                if (done.Contains(orderId))
                {
                    continue;
                }

                await PlaceOrderAsync(writer, orderId, cancellationToken).ConfigureAwait(false);
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>One unit of work: the order row and its OrderPlaced event, atomically.</summary>
    private static Task PlaceOrderAsync(DualWriter writer, int orderId, CancellationToken cancellationToken) =>
        writer.ExecuteAsync(async (context, ct) =>
        {
            var amountCents = 100 + (orderId * 37 % 9_900);
            using (var insert = context.CreateCommand(
                "INSERT INTO orders (order_id, amount_cents, placed_by) VALUES ($id, $amount, $by);"))
            {
                AddParameter(insert, "$id", orderId);
                AddParameter(insert, "$amount", amountCents);
                AddParameter(insert, "$by", context.TransactionalId);
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            var key = Encoding.UTF8.GetBytes(orderId.ToString(CultureInfo.InvariantCulture));
            var value = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{{\"type\":\"OrderPlaced\",\"orderId\":{orderId},\"amountCents\":{amountCents}}}"));
            _ = context.ProduceAsync(new ProducerRecord(Topic, key, value), ct);
        }, cancellationToken);

    private static void AddParameter(System.Data.Common.DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>Creates the application table next to the dual-write state table (idempotent).</summary>
    public static async Task CreateOrdersTableAsync(SqliteDualWriteStore store, CancellationToken cancellationToken)
    {
        var connection = await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE IF NOT EXISTS orders (
                    order_id INTEGER PRIMARY KEY,
                    amount_cents INTEGER NOT NULL,
                    placed_by TEXT NOT NULL
                );
                """;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The order ids in [first, last] that are committed in the database.</summary>
    public static async Task<HashSet<int>> ReadPlacedOrdersAsync(
        SqliteDualWriteStore store, int first, int last, CancellationToken cancellationToken)
    {
        var ids = new HashSet<int>();
        var connection = await store.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT order_id FROM orders WHERE order_id BETWEEN $first AND $last;";
            command.Parameters.AddWithValue("$first", first);
            command.Parameters.AddWithValue("$last", last);
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    ids.Add(reader.GetInt32(0));
                }
            }
        }

        return ids;
    }

    /// <summary>SIGKILLs the process at the chosen step boundary: no finally blocks, no flush, no rollback — the
    /// closest a test can get to pulling the plug.</summary>
    private sealed class SelfKillObserver(DualWriteStep killAt, int occurrence) : IDualWriteObserver
    {
        private int _seen;

        public void OnStepCompleted(string transactionalId, DualWriteStep step)
        {
            if (step == killAt && Interlocked.Increment(ref _seen) == occurrence)
            {
                // Process.Kill is SIGKILL on Unix (TerminateProcess on Windows).
                using var self = Process.GetCurrentProcess();
                self.Kill();
            }
        }
    }
}
