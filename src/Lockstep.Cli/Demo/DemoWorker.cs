using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client;
using Lockstep.DualWrite;

namespace Lockstep.Cli.Demo;

/// <summary>What the parent asks one worker run to do.</summary>
/// <param name="BootstrapServers">Kafka bootstrap servers.</param>
/// <param name="Topic">Topic of the OrderPlaced events (<see cref="DemoWorker.DefaultTopic"/> on the embedded broker; a
/// per-run name on an external one, so an earlier run's events cannot mix in).</param>
/// <param name="DatabaseSpec">The <see cref="IOrderDatabase.WorkerSpec"/> shared by every worker and the parent (a
/// SQLite path, or a PostgreSQL / Redis spec already isolated to the run's namespace).</param>
/// <param name="TransactionalId">The worker's Kafka transactional id (and state-row key).</param>
/// <param name="FirstOrder">First order id of the worker's range.</param>
/// <param name="LastOrder">Last order id of the worker's range (inclusive).</param>
/// <param name="KillAtStep">Kill this process right after this recipe step, or null for no self-kill.</param>
/// <param name="KillAtOccurrence">Which occurrence of <paramref name="KillAtStep"/> (1 = the first, which for steps 2
/// and 3 is the one inside start-up recovery).</param>
/// <param name="HoldAfter">After this many units of this run, stop placing orders and wait to be killed (null: run the
/// whole range). The parent's timer kills use it so the workload can never finish before the kill lands.</param>
internal sealed record DemoWorkerArgs(
    string BootstrapServers, string Topic, string DatabaseSpec, string TransactionalId, int FirstOrder, int LastOrder,
    DualWriteStep? KillAtStep, int KillAtOccurrence, int? HoldAfter = null);

/// <summary>
/// The <c>demo-worker</c> child process: recovers its transactional id, then places every order of its range that is
/// not in the database yet, one dual-write unit per order (write the order, produce OrderPlaced keyed by order id).
/// The parent SIGKILLs it, or it SIGKILLs itself at a chosen recipe step, and starts it again.
/// </summary>
/// <remarks>
/// Stdout protocol, one line each, read by <see cref="DemoRunner"/>: <c>recovered: OUTCOME</c> once after start-up
/// recovery, <c>placed: ID</c> after each unit committed in both systems, <c>holding</c> when
/// <see cref="DemoWorkerArgs.HoldAfter"/> is reached.
/// </remarks>
internal static class DemoWorker
{
    /// <summary>Default topic of the OrderPlaced events.</summary>
    public const string DefaultTopic = "orders";

    /// <summary>First stdout line after start-up recovery: <c>recovered: &lt;RecoveryOutcome&gt;</c>.</summary>
    public const string RecoveredPrefix = "recovered: ";

    /// <summary>Stdout line after each completed unit: <c>placed: &lt;order id&gt;</c>.</summary>
    public const string PlacedPrefix = "placed: ";

    /// <summary>Stdout line when the worker stops at <see cref="DemoWorkerArgs.HoldAfter"/> and waits to be killed.</summary>
    public const string HoldingLine = "holding";

    public static async Task<int> RunAsync(DemoWorkerArgs args, CancellationToken cancellationToken)
    {
        // The parent (or the test harness) created the schema before starting any worker: concurrent CREATE TABLE IF
        // NOT EXISTS from several workers can still collide in PostgreSQL's catalog.
        var database = OrderDatabases.Open(args.DatabaseSpec);
        await using (database.ConfigureAwait(false))
        {
            var writer = new DualWriter(database.Store, new DualWriterOptions
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
                await WriteLineAsync(RecoveredPrefix + outcome, cancellationToken).ConfigureAwait(false);

                var done = await database.ReadOrderIdsAsync(cancellationToken).ConfigureAwait(false);
                var units = 0;
                foreach (var orderId in Enumerable.Range(args.FirstOrder, args.LastOrder - args.FirstOrder + 1))
                {
                    if (done.Contains(orderId))
                    {
                        continue;
                    }

                    if (units == args.HoldAfter)
                    {
                        await WriteLineAsync(HoldingLine, cancellationToken).ConfigureAwait(false);
                        // Wait for the parent's SIGKILL. The parent holds our stdin open; end of input means it went
                        // away, and a worker must not be left waiting for a kill that will never come.
                        await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
                        await Console.Error.WriteLineAsync("demo-worker: stdin closed while holding; the parent is gone.")
                            .ConfigureAwait(false);
                        return ExitCodes.Failure;
                    }

                    await PlaceOrderAsync(writer, database, args.Topic, orderId, cancellationToken).ConfigureAwait(false);
                    units++;
                    await WriteLineAsync(PlacedPrefix + orderId.ToString(CultureInfo.InvariantCulture), cancellationToken)
                        .ConfigureAwait(false);
                }
            }
        }

        return ExitCodes.Ok;
    }

    /// <summary>The amount of an order: derived from its id, so every store and every retry writes the same row.</summary>
    /// <param name="orderId">The order id.</param>
    /// <returns>The amount in cents.</returns>
    public static int AmountCents(int orderId) => 100 + (orderId * 37 % 9_900);

    /// <summary>One unit of work: the order row and its OrderPlaced event, atomically.</summary>
    private static Task PlaceOrderAsync(
        DualWriter writer, IOrderDatabase database, string topic, int orderId, CancellationToken cancellationToken) =>
        writer.ExecuteAsync(async (context, ct) =>
        {
            var amountCents = AmountCents(orderId);
            await database.InsertOrderAsync(context, orderId, amountCents, ct).ConfigureAwait(false);
            var key = Encoding.UTF8.GetBytes(orderId.ToString(CultureInfo.InvariantCulture));
            var value = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
                $"{{\"type\":\"OrderPlaced\",\"orderId\":{orderId},\"amountCents\":{amountCents}}}"));
            _ = context.ProduceAsync(new ProducerRecord(topic, key, value), ct);
        }, cancellationToken);

    private static async Task WriteLineAsync(string line, CancellationToken cancellationToken)
    {
        await Console.Out.WriteLineAsync(line).ConfigureAwait(false);
        await Console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
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
