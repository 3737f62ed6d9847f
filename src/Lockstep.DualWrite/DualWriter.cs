using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client;
using Lockstep.DualWrite.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lockstep.DualWrite;

/// <summary>
/// Runs units of work that write to a database and produce to Kafka atomically: the events are committed in Kafka iff
/// the DB transaction commits, whatever crashes (KIP-939 two-phase commit with the DB as the coordinator; the recipe
/// of dual-write.md §1, steps 1-8, exactly).
/// </summary>
/// <remarks>
/// <para>One writer owns one transactional id and runs one unit at a time (calls are serialised); use several ids for
/// concurrency. Creating a second writer with the same id fences this one (<see cref="DualWriterFencedException"/>).
/// </para>
/// <para>Recovery — a new producer with <c>InitTransactions(keepPreparedTransaction: true)</c>, lock the state row,
/// <c>CompleteTransaction(stored token)</c>, release the lock — runs before the first unit and after any Kafka failure
/// that leaves the producer in doubt. A DB commit whose outcome is unknown is resolved by re-reading the committed
/// token (<see cref="IDualWriteStore.ReadCommittedTokenAsync"/>), never guessed.</para>
/// <para>Availability coupling (dual-write.md §2): if Kafka is unreachable, units fail with
/// <see cref="DualWriteException"/> and their DB transaction rolls back.</para>
/// </remarks>
public sealed class DualWriter : IAsyncDisposable, IPreparedAgeSource
{
    private readonly IDualWriteStore _store;
    private readonly DualWriterOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when this writer's open prepared transaction was prepared (or
    /// found prepared by recovery); 0 when none. Read by the prepared-age gauge from any thread.</summary>
    private long _preparedSince;
    private KafkaProducer? _producer;
    private bool _needsRecovery = true;
    private bool _fenced;
    private bool _disposed;

    /// <summary>Creates a writer. Nothing is contacted until <see cref="RecoverAsync"/> or the first unit.</summary>
    /// <param name="store">Where the prepared-transaction tokens are kept, in the application's database.</param>
    /// <param name="options">Transactional id, bootstrap servers, hooks; validated here.</param>
    /// <exception cref="ArgumentException">A required setting is missing.</exception>
    public DualWriter(IDualWriteStore store, DualWriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _options = options;
        _time = options.TimeProvider ?? TimeProvider.System;
        _logger = options.Logger ?? NullLogger.Instance;
        DualWriteInstruments.Register(this);
    }

    /// <inheritdoc/>
    TimeSpan? IPreparedAgeSource.PreparedAge =>
        Volatile.Read(ref _preparedSince) is var since and not 0 ? _time.GetElapsedTime(since) : null;

    private void MarkPrepared()
    {
        // Keep the first sighting: a transaction found prepared by recovery is as old as when we first knew of it.
        Interlocked.CompareExchange(ref _preparedSince, Math.Max(1, _time.GetTimestamp()), 0);
    }

    private void ClearPrepared() => Volatile.Write(ref _preparedSince, 0);

    /// <summary>The Kafka transactional id this writer owns.</summary>
    public string TransactionalId => _options.TransactionalId;

    /// <summary>
    /// Takes ownership of the id and resolves what an earlier incarnation left behind: creates the producer with
    /// <c>InitTransactions(keepPreparedTransaction: true)</c> (fencing any older producer of the id), locks the state
    /// row, and commits the prepared Kafka transaction iff the DB holds its token, else aborts it. Runs automatically
    /// before the first unit; call it explicitly at start-up to learn the outcome, or after
    /// <see cref="DualWriterFencedException"/> to take the id back.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (recovery can simply be repeated).</param>
    /// <returns>What happened to the prepared transaction, if there was one.</returns>
    /// <exception cref="DualWriterFencedException">Another producer took the id over during recovery.</exception>
    /// <exception cref="DualWriteException">Kafka or the store failed (<see cref="DualWriteOutcome.Unknown"/>): repeat
    /// the recovery later; nothing is lost in between.</exception>
    public async Task<RecoveryOutcome> RecoverAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _fenced = false;
            return await RecoverCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Runs one unit of work through recipe steps 2-8: begins the DB transaction and locks the state row, completes
    /// anything left prepared, begins the Kafka transaction and calls <paramref name="work"/> (which writes its rows
    /// through <see cref="DualWriteContext.Transaction"/> and produces its events through
    /// <see cref="DualWriteContext.ProduceAsync"/>), prepares, stores the token, commits the DB, then commits Kafka.
    /// </summary>
    /// <typeparam name="T">What the unit of work returns.</typeparam>
    /// <param name="work">The unit of work. If it throws, the DB transaction rolls back, the Kafka transaction aborts
    /// and the exception propagates unchanged.</param>
    /// <param name="cancellationToken">Cancels the unit before its DB commit; after step 7 the unit completes
    /// regardless.</param>
    /// <returns>The value returned by <paramref name="work"/>, once the unit has committed in both systems (or the
    /// DB committed and Kafka's commit was completed by recovery).</returns>
    /// <exception cref="DualWriterFencedException">Another producer took the id over.</exception>
    /// <exception cref="DualWriteException">A database or Kafka failure; <see cref="DualWriteException.Outcome"/> says
    /// whether the unit committed.</exception>
    public async Task<T> ExecuteAsync<T>(
        Func<DualWriteContext, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_fenced)
            {
                throw new DualWriterFencedException(TransactionalId, DualWriteOutcome.RolledBack, null);
            }

            using var activity = DualWriteInstruments.Source.StartActivity(DualWriteTelemetry.UnitActivity);
            activity?.SetTag(DualWriteTelemetry.TransactionalIdTag, TransactionalId);
            var started = _time.GetTimestamp();
            var outcome = "committed";
            try
            {
                if (_needsRecovery || _producer is null)
                {
                    try
                    {
                        await RecoverCoreAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (DualWriteException recoveryError) when (recoveryError is not DualWriterFencedException)
                    {
                        // The unit itself never began, so for the caller it is rolled back; the id stays in doubt
                        // and the next unit recovers first again.
                        throw new DualWriteException(DualWriteOutcome.RolledBack,
                            $"The unit on '{TransactionalId}' did not run: recovering the id first failed "
                            + $"({recoveryError.Message}).", recoveryError);
                    }
                }

                return await ExecuteCoreAsync(work, _producer!, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                outcome = error switch
                {
                    DualWriterFencedException => "fenced",
                    DualWriteException { Outcome: DualWriteOutcome.Committed } => "committed",
                    DualWriteException { Outcome: DualWriteOutcome.RolledBack } => "rolled_back",
                    DualWriteException => "unknown",
                    OperationCanceledException => "canceled",
                    _ => "application_error",
                };
                activity?.SetStatus(ActivityStatusCode.Error, error.Message);
                activity?.SetTag(DualWriteTelemetry.OutcomeTag, outcome);
                throw;
            }
            finally
            {
                var outcomeTag = DualWriteInstruments.OutcomeTag(outcome);
                DualWriteInstruments.Units.Add(1, outcomeTag);
                DualWriteInstruments.UnitDuration.Record(_time.GetElapsedTime(started).TotalSeconds, outcomeTag);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs a unit of work that returns nothing; see <see cref="ExecuteAsync{T}"/>.</summary>
    /// <param name="work">The unit of work.</param>
    /// <param name="cancellationToken">Cancels the unit before its DB commit.</param>
    /// <returns>A task that completes when the unit has committed.</returns>
    public Task ExecuteAsync(Func<DualWriteContext, CancellationToken, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return ExecuteAsync<bool>(async (context, ct) =>
        {
            await work(context, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    private async Task<T> ExecuteCoreAsync<T>(
        Func<DualWriteContext, CancellationToken, Task<T>> work, KafkaProducer producer, CancellationToken cancellationToken)
    {
        T result;
        PreparedTransactionState token;
        var transaction = await BeginStoreTransactionAsync(cancellationToken).ConfigureAwait(false);
        var kafkaBegun = false;
        var workFailed = false;
        try
        {
            // Step 2: lock (or create) the state row. The lock serialises every writer of this id through the DB.
            var stored = await transaction.LockStateAsync(TransactionalId, cancellationToken).ConfigureAwait(false);
            Notify(DualWriteStep.LockState);

            // Step 3: normally a no-op (nothing prepared); it matters when a previous unit failed in a way that left
            // the producer prepared without a recovery in between.
            await producer.CompleteTransactionAsync(PreparedTransactionState.Parse(stored), cancellationToken)
                .ConfigureAwait(false);
            ClearPrepared();
            Notify(DualWriteStep.CompletePrevious);

            // Step 4: the Kafka transaction and the application's writes, in any order.
            producer.BeginTransaction();
            kafkaBegun = true;
            var context = new DualWriteContext(transaction, producer, TransactionalId);
            try
            {
                result = await work(context, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception workError) when (!IsFenced(workError))
            {
                // The application's own failure: roll back both sides (below) and let its exception through unchanged.
                workFailed = true;
                throw;
            }

            Notify(DualWriteStep.WriteAndProduce);

            // Step 5: flush; from here Kafka keeps the transaction open with no timeout until completed.
            var prepareStarted = _time.GetTimestamp();
            token = await producer.PrepareTransactionAsync(cancellationToken).ConfigureAwait(false);
            MarkPrepared();

            // Prepare flushes, but the token must only be stored once every event is acknowledged by its partition
            // leader: a record still in flight at step 7 could be lost with this process while the DB says
            // "committed". Awaiting the delivery tasks makes that guarantee independent of the client's flush.
            await Task.WhenAll(context.Produced).WaitAsync(producer.Options.DeliveryTimeout, cancellationToken)
                .ConfigureAwait(false);
            DualWriteInstruments.PrepareDuration.Record(_time.GetElapsedTime(prepareStarted).TotalSeconds);
            Notify(DualWriteStep.Prepare);

            // Step 6: the token joins the application's rows in the same DB transaction.
            await transaction.WriteTokenAsync(TransactionalId, token.ToString(), cancellationToken).ConfigureAwait(false);
            Notify(DualWriteStep.StoreToken);
        }
        catch (Exception error) when (error is not DualWriteException)
        {
            await RollBackAsync(transaction, producer, kafkaBegun).ConfigureAwait(false);
            if (IsFenced(error))
            {
                MarkFenced();
                throw new DualWriterFencedException(TransactionalId, DualWriteOutcome.RolledBack, error);
            }

            if (workFailed || error is OperationCanceledException || IsApplicationError(error))
            {
                throw;
            }

            throw new DualWriteException(DualWriteOutcome.RolledBack,
                $"Unit of work on '{TransactionalId}' failed before the DB commit and was rolled back: {error.Message}", error);
        }

        // Step 7: the decision point. No cancellation from here: the outcome must be established either way.
        var commitStarted = _time.GetTimestamp();
        try
        {
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            DualWriteInstruments.CommitDuration.Record(_time.GetElapsedTime(commitStarted).TotalSeconds, s_databasePhase);
        }
        catch (Exception commitError)
        {
            DualWriteLog.CommitOutcomeUnknown(_logger, TransactionalId, commitError.Message);
            await DisposeQuietlyAsync(transaction).ConfigureAwait(false);
            await ResolveUnknownCommitAsync(producer, token, commitError).ConfigureAwait(false);
            return result; // The re-read showed the DB committed and Kafka has been committed to match.
        }

        await DisposeQuietlyAsync(transaction).ConfigureAwait(false);
        Notify(DualWriteStep.CommitDatabase);

        // Step 8: commit Kafka. The outcome is already fixed by step 7; failures here only delay visibility.
        commitStarted = _time.GetTimestamp();
        try
        {
            await producer.CommitTransactionAsync(CancellationToken.None).ConfigureAwait(false);
            ClearPrepared();
            DualWriteInstruments.CommitDuration.Record(_time.GetElapsedTime(commitStarted).TotalSeconds, s_kafkaPhase);
        }
        catch (Exception commitError) when (IsFenced(commitError))
        {
            // Another instance took the id over; its recovery commits this transaction because the DB holds the token.
            MarkFenced();
            throw new DualWriterFencedException(TransactionalId, DualWriteOutcome.Committed, commitError);
        }
        catch (Exception commitError)
        {
            _needsRecovery = true;
            DualWriteLog.KafkaCommitFailed(_logger, TransactionalId, commitError);
            try
            {
                // Recovery re-attaches to the prepared transaction and commits it (the DB holds its token).
                await RecoverCoreAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception recoveryError) when (recoveryError is not DualWriterFencedException)
            {
                throw new DualWriteException(DualWriteOutcome.Committed,
                    $"The DB committed but committing the Kafka transaction of '{TransactionalId}' failed; the next "
                    + "recovery commits it.", new AggregateException(commitError, recoveryError));
            }

            return result;
        }

        Notify(DualWriteStep.CommitKafka);
        return result;
    }

    /// <summary>
    /// Step 7 failed: the commit may or may not have happened. The committed token decides (dual-write.md failure
    /// table, row "commit outcome unknown"): equal to this transaction's token ⇒ the DB committed ⇒ commit Kafka;
    /// anything else ⇒ rolled back ⇒ abort. Returns normally iff the unit committed in both systems.
    /// </summary>
    private async Task ResolveUnknownCommitAsync(KafkaProducer producer, PreparedTransactionState token, Exception commitError)
    {
        string? committed;
        try
        {
            committed = await _store.ReadCommittedTokenAsync(TransactionalId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception readError)
        {
            // Still unknown. The Kafka transaction stays prepared; recovery resolves it from the DB later.
            _needsRecovery = true;
            throw new DualWriteException(DualWriteOutcome.Unknown,
                $"The DB commit of '{TransactionalId}' failed and its outcome could not be read back; recovery will "
                + "complete the prepared Kafka transaction from the DB decision.", new AggregateException(commitError, readError));
        }

        var dbCommitted = string.Equals(committed, token.ToString(), StringComparison.Ordinal);
        try
        {
            await producer.CompleteTransactionAsync(PreparedTransactionState.Parse(committed), CancellationToken.None)
                .ConfigureAwait(false);
            ClearPrepared();
        }
        catch (Exception completeError)
        {
            _needsRecovery = true;
            if (IsFenced(completeError))
            {
                MarkFenced();
                throw new DualWriterFencedException(TransactionalId,
                    dbCommitted ? DualWriteOutcome.Committed : DualWriteOutcome.RolledBack, completeError);
            }

            throw new DualWriteException(dbCommitted ? DualWriteOutcome.Committed : DualWriteOutcome.RolledBack,
                $"The DB commit of '{TransactionalId}' reported an error ({commitError.Message}); the DB "
                + (dbCommitted ? "did commit" : "rolled back") + " and completing Kafka failed; recovery will finish it.",
                new AggregateException(commitError, completeError));
        }

        if (!dbCommitted)
        {
            throw new DualWriteException(DualWriteOutcome.RolledBack,
                $"The DB commit of '{TransactionalId}' failed; the DB rolled back and the Kafka transaction was aborted.",
                commitError);
        }

        Notify(DualWriteStep.CommitDatabase);
        Notify(DualWriteStep.CommitKafka);
    }

    private async Task<RecoveryOutcome> RecoverCoreAsync(CancellationToken cancellationToken)
    {
        using var activity = DualWriteInstruments.Source.StartActivity(DualWriteTelemetry.RecoverActivity);
        activity?.SetTag(DualWriteTelemetry.TransactionalIdTag, TransactionalId);
        var outcome = "failed";
        try
        {
            var result = await RecoverAttemptAsync(cancellationToken).ConfigureAwait(false);
            outcome = result switch
            {
                RecoveryOutcome.Committed => "committed",
                RecoveryOutcome.Aborted => "aborted",
                _ => "nothing_prepared",
            };
            if (result == RecoveryOutcome.NothingPrepared)
            {
                DualWriteLog.RecoveredNothing(_logger, TransactionalId);
            }
            else
            {
                DualWriteLog.RecoveredPrepared(_logger, TransactionalId, result);
            }

            return result;
        }
        catch (Exception error)
        {
            if (error is DualWriterFencedException)
            {
                outcome = "fenced";
            }
            else if (error is not OperationCanceledException)
            {
                DualWriteLog.RecoveryFailed(_logger, TransactionalId, error);
            }

            activity?.SetStatus(ActivityStatusCode.Error, error.Message);
            throw;
        }
        finally
        {
            activity?.SetTag(DualWriteTelemetry.OutcomeTag, outcome);
            DualWriteInstruments.Recoveries.Add(1, DualWriteInstruments.IdTag(TransactionalId),
                DualWriteInstruments.OutcomeTag(outcome));
        }
    }

    private async Task<RecoveryOutcome> RecoverAttemptAsync(CancellationToken cancellationToken)
    {
        _needsRecovery = true;
        if (_producer is not null)
        {
            var old = _producer;
            _producer = null;
            await CloseProducerAsync(old).ConfigureAwait(false);
        }

        var producer = CreateProducer();
        try
        {
            // Step 1: fences older producers of the id and re-attaches to a transaction they left prepared.
            await producer.InitTransactionsAsync(keepPreparedTransaction: true, cancellationToken).ConfigureAwait(false);
            if (producer.TransactionVersion < 2)
            {
                // Under TV1 consecutive transactions share one (producer id, epoch), so the token of an earlier
                // committed unit would match a later unit's prepared transaction whose DB commit never happened, and
                // recovery would commit its events (dual-write.md §1 "Requirements"; kip939-spec.md §3: KIP-890 TV2).
                throw new BrokerCapabilityException("transaction.version 2",
                    $"Dual write on '{TransactionalId}' needs Kafka transactions V2 (KIP-890: a new epoch per "
                    + "transaction), but the broker finalizes transaction.version < 2. Without it a stored token cannot "
                    + "tell two transactions of this id apart. Upgrade the feature (kafka-features.sh upgrade --feature "
                    + "transaction.version=2).");
            }

            Notify(DualWriteStep.InitTransactions);
            var prepared = producer.PreparedTransaction;
            if (prepared is not null)
            {
                MarkPrepared();
            }

            var transaction = await BeginStoreTransactionAsync(cancellationToken).ConfigureAwait(false);
            PreparedTransactionState stored;
            try
            {
                stored = PreparedTransactionState.Parse(
                    await transaction.LockStateAsync(TransactionalId, cancellationToken).ConfigureAwait(false));
                Notify(DualWriteStep.LockState);

                // Step 3 under the lock: commit iff the DB holds exactly the prepared transaction's token.
                await producer.CompleteTransactionAsync(stored, cancellationToken).ConfigureAwait(false);
                ClearPrepared();
                Notify(DualWriteStep.CompletePrevious);

                // Releases the lock; persists the state row if LockStateAsync created it.
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await DisposeQuietlyAsync(transaction).ConfigureAwait(false);
            }

            _producer = producer;
            _needsRecovery = false;
            return prepared is null ? RecoveryOutcome.NothingPrepared
                : prepared.Equals(stored) ? RecoveryOutcome.Committed
                : RecoveryOutcome.Aborted;
        }
        catch (Exception error)
        {
            await CloseProducerAsync(producer).ConfigureAwait(false);
            if (IsFenced(error))
            {
                MarkFenced();
                throw new DualWriterFencedException(TransactionalId, DualWriteOutcome.Unknown, error);
            }

            if (error is OperationCanceledException or DualWriteException or BrokerCapabilityException)
            {
                // A missing broker capability is permanent: say so plainly instead of an outcome that reads as
                // "retry later".
                throw;
            }

            // Kafka unreachable, a store error, a commit conflict: a transaction left prepared stays prepared (Kafka
            // never times it out under 2PC) and the next recovery resolves it from the same DB decision.
            throw new DualWriteException(DualWriteOutcome.Unknown,
                $"Recovery of '{TransactionalId}' failed ({error.Message}); a prepared transaction stays prepared until "
                + "a later recovery completes it from the DB decision.", error);
        }
    }

    private async Task<IDualWriteTransaction> BeginStoreTransactionAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _store.BeginAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            throw new DualWriteException(DualWriteOutcome.RolledBack,
                $"Could not begin the DB transaction for '{TransactionalId}': {error.Message}", error);
        }
    }

    private KafkaProducer CreateProducer()
    {
        var options = new KafkaProducerOptions();
        _options.ConfigureProducer?.Invoke(options);
        options.BootstrapServers = _options.BootstrapServers;
        options.TransactionalId = _options.TransactionalId;
        options.TransactionTwoPhaseCommitEnable = true;
        return new KafkaProducer(options);
    }

    /// <summary>Rolls back the DB transaction, then aborts the Kafka transaction. If the abort fails the producer is
    /// in doubt and the next unit recovers first (the DB rolled back, so recovery aborts as well).</summary>
    private async Task RollBackAsync(IDualWriteTransaction transaction, KafkaProducer producer, bool kafkaBegun)
    {
        await DisposeQuietlyAsync(transaction).ConfigureAwait(false);
        if (!kafkaBegun)
        {
            _needsRecovery = true; // Steps 2-3 failed: the producer's state is unknown.
            return;
        }

        try
        {
            await producer.AbortTransactionAsync(CancellationToken.None).ConfigureAwait(false);
            ClearPrepared();
        }
#pragma warning disable CA1031 // Any abort failure means the same thing: recover before the next unit.
        catch (Exception)
#pragma warning restore CA1031
        {
            _needsRecovery = true;
        }
    }

    private static async Task DisposeQuietlyAsync(IDualWriteTransaction transaction)
    {
        try
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed rollback leaves nothing to undo: the DB discards an uncommitted transaction.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async Task CloseProducerAsync(KafkaProducer producer)
    {
        try
        {
            // A prepared transaction has no buffered records; a broken producer may wait for delivery.timeout.ms on
            // records that will never be acknowledged, so give up after ProducerCloseTimeout.
            await producer.DisposeAsync().AsTask().WaitAsync(_options.ProducerCloseTimeout).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Closing a producer we are discarding: its failure changes nothing.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private void MarkFenced()
    {
        _fenced = true;
        _needsRecovery = true;
        DualWriteInstruments.Fenced.Add(1, DualWriteInstruments.IdTag(TransactionalId));
        DualWriteLog.Fenced(_logger, TransactionalId, null);
    }

    private static readonly System.Collections.Generic.KeyValuePair<string, object?> s_databasePhase =
        new(DualWriteTelemetry.PhaseTag, "database");

    private static readonly System.Collections.Generic.KeyValuePair<string, object?> s_kafkaPhase =
        new(DualWriteTelemetry.PhaseTag, "kafka");

    private void Notify(DualWriteStep step)
    {
        DualWriteInstruments.StepEvent(step);
        _options.Observer?.OnStepCompleted(TransactionalId, step);
    }

    private static bool IsFenced(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is ProducerFencedException)
            {
                return true;
            }

            if (e is AggregateException aggregate && aggregate.InnerExceptions.Count > 1)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (IsFenced(inner))
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary>Errors raised by neither the client nor the store are the application's (e.g. thrown by an observer
    /// hook) and propagate unchanged.</summary>
    private static bool IsApplicationError(Exception error) =>
        error is not KafkaException and not System.Data.Common.DbException and not InvalidOperationException
            and not TimeoutException and not System.IO.IOException;

    /// <summary>Closes the producer. A prepared transaction stays on the broker for the next incarnation's recovery.
    /// </summary>
    /// <returns>A task that completes when the producer is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // This process stops tracking a prepared transaction it leaves behind; whoever recovers the id reports it.
        DualWriteInstruments.Unregister(this);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_producer is not null)
            {
                await CloseProducerAsync(_producer).ConfigureAwait(false);
                _producer = null;
            }
        }
        finally
        {
            _gate.Release();
            _gate.Dispose();
        }
    }
}
