using System.Data.Common;
using Lockstep.Client;

namespace Lockstep.DualWrite.Tests;

/// <summary>
/// Goal: the recipe of dual-write.md §1 holds in-process — a committed unit has its row and its event exactly once, a
/// failed unit has neither, recovery decides from the stored token, a DB commit with unknown outcome is resolved by
/// re-reading the DB, and a zombie is fenced without losing or duplicating anything. Method: DualWriter over SQLite
/// against the embedded broker; the verdict always comes from an independent read_committed consumer.
/// </summary>
public sealed class DualWriterTests
{
    [Fact]
    public async Task Committed_unit_has_its_row_and_its_event_exactly_once()
    {
        await using var harness = await DualWriteHarness.StartAsync();
        await using var writer = harness.CreateWriter("orders-0");

        for (var id = 1; id <= 5; id++)
        {
            await DualWriteHarness.PlaceOrderAsync(writer, id, TestContext.Current.CancellationToken);
        }

        Assert.Equal([1, 2, 3, 4, 5], await harness.ReadRowsAsync());
        Assert.Equal([1, 2, 3, 4, 5], await harness.ReadCommittedEventsAsync());
        // Step 6 stored a real token ("pid:epoch") in the state row.
        Assert.Matches("^[0-9]+:[0-9]+$", await harness.ReadStoredTokenAsync("orders-0"));
    }

    [Fact]
    public async Task Exception_in_the_unit_of_work_rolls_back_the_row_and_hides_the_event()
    {
        await using var harness = await DualWriteHarness.StartAsync();
        await using var writer = harness.CreateWriter("orders-0");
        await DualWriteHarness.PlaceOrderAsync(writer, 1, TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => writer.ExecuteAsync(async (context, ct) =>
        {
            await using (var insert = context.CreateCommand("INSERT INTO orders (order_id, amount_cents, placed_by) VALUES (2, 1, 'x');"))
            {
                await insert.ExecuteNonQueryAsync(ct);
            }

            // The event reaches the partition before the failure: only the abort keeps it from consumers.
            await context.ProduceAsync(new ProducerRecord(DualWriteHarness.Topic, DualWriteHarness.Key(2), null), ct);
            throw new InvalidOperationException("business rule violated");
        }, TestContext.Current.CancellationToken));
        Assert.Equal("business rule violated", error.Message);

        // The writer stays usable after a rolled-back unit.
        await DualWriteHarness.PlaceOrderAsync(writer, 3, TestContext.Current.CancellationToken);
        Assert.Equal([1, 3], await harness.ReadRowsAsync());
        Assert.Equal([1, 3], await harness.ReadCommittedEventsAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Recovery_commits_iff_the_DB_holds_the_prepared_token(bool dbHoldsToken)
    {
        await using var harness = await DualWriteHarness.StartAsync();
        await using (var first = harness.CreateWriter("orders-0"))
        {
            await DualWriteHarness.PlaceOrderAsync(first, 1, TestContext.Current.CancellationToken);
        }

        var committedBefore = await harness.ReadStoredTokenAsync("orders-0");

        // An earlier incarnation prepared a transaction (steps 1-5) and died; the DB holds either its token (step 7
        // happened) or the stale token of the previous transaction (it did not).
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = harness.Bootstrap,
            TransactionalId = "orders-0",
            TransactionTwoPhaseCommitEnable = true,
        });
        PreparedTransactionState prepared;
        await using (producer)
        {
            await producer.InitTransactionsAsync(keepPreparedTransaction: true, TestContext.Current.CancellationToken);
            producer.BeginTransaction();
            await producer.ProduceAsync(DualWriteHarness.Topic, DualWriteHarness.Key(2), null, TestContext.Current.CancellationToken);
            prepared = await producer.PrepareTransactionAsync(TestContext.Current.CancellationToken);
        }

        Assert.NotEqual(committedBefore, prepared.ToString());
        if (dbHoldsToken)
        {
            await using var connection = await harness.Store.OpenConnectionAsync(TestContext.Current.CancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO orders VALUES (2, 1, 'crashed'); UPDATE lockstep_txn_state SET prepared_txn_state = $t;";
            command.Parameters.AddWithValue("$t", prepared.ToString());
            await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        await using var recovered = harness.CreateWriter("orders-0");
        var outcome = await recovered.RecoverAsync(TestContext.Current.CancellationToken);

        Assert.Equal(dbHoldsToken ? RecoveryOutcome.Committed : RecoveryOutcome.Aborted, outcome);
        await DualWriteHarness.PlaceOrderAsync(recovered, 3, TestContext.Current.CancellationToken);
        int[] expected = dbHoldsToken ? [1, 2, 3] : [1, 3];
        Assert.Equal(expected, await harness.ReadRowsAsync());
        Assert.Equal(expected, await harness.ReadCommittedEventsAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Unknown_commit_outcome_is_resolved_by_re_reading_the_DB(bool commitHappened)
    {
        await using var harness = await DualWriteHarness.StartAsync();
        var flaky = new FailingCommitStore(harness.Store) { CommitBeforeFailing = commitHappened };
        await using var writer = harness.CreateWriter("orders-0", store: flaky);
        await writer.RecoverAsync(TestContext.Current.CancellationToken);
        flaky.FailNextCommit = true;

        if (commitHappened)
        {
            // The connection "died" after the COMMIT reached the DB: the writer must find its token and commit Kafka.
            await DualWriteHarness.PlaceOrderAsync(writer, 1, TestContext.Current.CancellationToken);
        }
        else
        {
            var error = await Assert.ThrowsAsync<DualWriteException>(
                () => DualWriteHarness.PlaceOrderAsync(writer, 1, TestContext.Current.CancellationToken));
            Assert.Equal(DualWriteOutcome.RolledBack, error.Outcome);
        }

        await DualWriteHarness.PlaceOrderAsync(writer, 2, TestContext.Current.CancellationToken);
        int[] expected = commitHappened ? [1, 2] : [2];
        Assert.Equal(expected, await harness.ReadRowsAsync());
        Assert.Equal(expected, await harness.ReadCommittedEventsAsync());
    }

    [Fact]
    public async Task Zombie_writer_is_fenced_and_nothing_is_lost_or_duplicated()
    {
        await using var harness = await DualWriteHarness.StartAsync();
        await using var zombie = harness.CreateWriter("orders-0");
        await DualWriteHarness.PlaceOrderAsync(zombie, 1, TestContext.Current.CancellationToken);

        // A new instance takes the id over (its InitTransactions bumps the epoch).
        await using var successor = harness.CreateWriter("orders-0");
        await successor.RecoverAsync(TestContext.Current.CancellationToken);

        var fenced = await Assert.ThrowsAsync<DualWriterFencedException>(
            () => DualWriteHarness.PlaceOrderAsync(zombie, 2, TestContext.Current.CancellationToken));
        Assert.Equal(DualWriteOutcome.RolledBack, fenced.Outcome);
        Assert.Equal("orders-0", fenced.TransactionalId);
        // Fenced for good: the zombie refuses further units instead of silently taking the id back.
        await Assert.ThrowsAsync<DualWriterFencedException>(
            () => DualWriteHarness.PlaceOrderAsync(zombie, 4, TestContext.Current.CancellationToken));

        await DualWriteHarness.PlaceOrderAsync(successor, 3, TestContext.Current.CancellationToken);
        Assert.Equal([1, 3], await harness.ReadRowsAsync());
        Assert.Equal([1, 3], await harness.ReadCommittedEventsAsync());
    }

    [Fact]
    public async Task Zombie_fenced_at_step_8_still_commits_through_the_successor()
    {
        await using var harness = await DualWriteHarness.StartAsync();
        await using var successor = harness.CreateWriter("orders-0");
        var takeOver = new TakeOverAfterDbCommit(successor);
        await using var zombie = harness.CreateWriter("orders-0", takeOver);
        await DualWriteHarness.PlaceOrderAsync(zombie, 1, TestContext.Current.CancellationToken);

        // Unit 2: after step 7 the successor recovers (fencing the zombie) and commits the prepared transaction
        // because the DB holds its token; the zombie's own step 8 is then fenced.
        takeOver.Armed = true;
        var fenced = await Assert.ThrowsAsync<DualWriterFencedException>(
            () => DualWriteHarness.PlaceOrderAsync(zombie, 2, TestContext.Current.CancellationToken));

        Assert.Equal(DualWriteOutcome.Committed, fenced.Outcome);
        Assert.Equal(RecoveryOutcome.Committed, takeOver.Outcome);
        Assert.Equal([1, 2], await harness.ReadRowsAsync());
        Assert.Equal([1, 2], await harness.ReadCommittedEventsAsync());
    }

    /// <summary>Runs the successor's recovery synchronously at the zombie's step-7 boundary, once.</summary>
    private sealed class TakeOverAfterDbCommit(DualWriter successor) : IDualWriteObserver
    {
        public bool Armed { get; set; }

        public RecoveryOutcome? Outcome { get; private set; }

        public void OnStepCompleted(string transactionalId, DualWriteStep step)
        {
            if (Armed && step == DualWriteStep.CommitDatabase)
            {
                Armed = false;
#pragma warning disable VSTHRD002 // The hook is synchronous by design; the successor shares no lock with this thread.
                Outcome = successor.RecoverAsync().GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
            }
        }
    }

    /// <summary>A store whose next commit throws, after (outcome: committed) or instead of (rolled back) committing.
    /// </summary>
    private sealed class FailingCommitStore(IDualWriteStore inner) : IDualWriteStore
    {
        public bool FailNextCommit { get; set; }

        public bool CommitBeforeFailing { get; set; }

        public async ValueTask<IDualWriteTransaction> BeginAsync(CancellationToken cancellationToken)
        {
            var transaction = await inner.BeginAsync(cancellationToken);
            var fail = FailNextCommit;
            FailNextCommit = false;
            return fail ? new Failing(transaction, CommitBeforeFailing) : transaction;
        }

        public ValueTask<string?> ReadCommittedTokenAsync(string transactionalId, CancellationToken cancellationToken) =>
            inner.ReadCommittedTokenAsync(transactionalId, cancellationToken);

        public ValueTask<bool> TryAcquireLeaseAsync(string transactionalId, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
            inner.TryAcquireLeaseAsync(transactionalId, owner, duration, cancellationToken);

        public ValueTask ReleaseLeaseAsync(string transactionalId, string owner, CancellationToken cancellationToken) =>
            inner.ReleaseLeaseAsync(transactionalId, owner, cancellationToken);

        public ValueTask<IReadOnlyList<DualWriteStateRow>> ListStatesAsync(CancellationToken cancellationToken) =>
            inner.ListStatesAsync(cancellationToken);

        private sealed class Failing(IDualWriteTransaction inner, bool commitFirst) : IDbDualWriteTransaction
        {
            public DbConnection Connection => ((IDbDualWriteTransaction)inner).Connection;

            public DbTransaction Transaction => ((IDbDualWriteTransaction)inner).Transaction;

            public ValueTask<string> LockStateAsync(string transactionalId, CancellationToken cancellationToken) =>
                inner.LockStateAsync(transactionalId, cancellationToken);

            public ValueTask WriteTokenAsync(string transactionalId, string token, CancellationToken cancellationToken) =>
                inner.WriteTokenAsync(transactionalId, token, cancellationToken);

            public async ValueTask CommitAsync(CancellationToken cancellationToken)
            {
                if (commitFirst)
                {
                    await inner.CommitAsync(cancellationToken);
                }

                throw new IOException("connection reset during COMMIT (simulated)");
            }

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
