using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Internal;
using Lockstep.Client.Producer;
using Lockstep.Client.Transactions;

namespace Lockstep.Client;

/// <summary>
/// An asynchronous Kafka producer: batching per partition, the four codecs, a Java-compatible partitioner,
/// idempotence (on by default), transactions (KIP-98, KIP-890 V2) and KIP-939 two-phase commit.
/// Thread-safe; create one per application and transactional id, and dispose it to flush and close.
/// </summary>
/// <remarks>
/// <para>Ordering: records passed to <see cref="ProduceAsync(ProducerRecord, CancellationToken)"/> from one thread
/// are appended in call order, even without awaiting each call; with idempotence they are also written in that order
/// per partition, retries included.</para>
/// <para>Errors: <see cref="KafkaRetriableException"/> — retry the call; <see cref="TransactionAbortableException"/>
/// — abort the transaction and continue; <see cref="KafkaFatalException"/> (including
/// <see cref="ProducerFencedException"/>) — dispose the producer. Calls made in the wrong state throw
/// <see cref="InvalidOperationException"/>.</para>
/// </remarks>
public sealed class KafkaProducer : IAsyncDisposable
{
    private readonly KafkaCluster _cluster;
    private readonly ProducerEngine _engine;
    private readonly TransactionManager? _transactions;
    private readonly ClientDiagnostics _diagnostics;
    private readonly TimeProvider _time;
    private int _disposed;

    /// <summary>The sender engine (tests observe its state through it).</summary>
    internal ProducerEngine Engine => _engine;

    /// <summary>Creates a producer. Connections open lazily; transactional producers must call
    /// <see cref="InitTransactionsAsync(bool, CancellationToken)"/> before producing.</summary>
    /// <param name="options">Settings; validated here (<see cref="KafkaProducerOptions.Validate"/>).</param>
    /// <exception cref="ArgumentException">Invalid or inconsistent settings.</exception>
    public KafkaProducer(KafkaProducerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _time = options.TimeProvider;
        _diagnostics = ClientDiagnostics.Shared;
        _cluster = new KafkaCluster(options, allowAutoTopicCreation: true, _diagnostics);
        _transactions = options.TransactionalId is null ? null : new TransactionManager(_cluster, options);
        _engine = new ProducerEngine(_cluster, options, _transactions);
        _transactions?.Attach(_engine);
        _engine.Start();
    }

    /// <summary>Creates a producer from Kafka-named settings (<c>bootstrap.servers</c>, <c>acks</c>, …).</summary>
    /// <param name="config">The settings; unknown keys are rejected.</param>
    public KafkaProducer(IEnumerable<KeyValuePair<string, string>> config)
        : this(KafkaProducerOptions.FromConfig(config))
    {
    }

    /// <summary>The validated settings.</summary>
    public KafkaProducerOptions Options { get; }

    /// <summary>
    /// The token of the transaction this producer has prepared (after <see cref="PrepareTransactionAsync"/>, or
    /// found by <c>InitTransactionsAsync(keepPreparedTransaction: true)</c> after a restart), or null when none is
    /// prepared. Compare it with the token stored by the external transaction manager.
    /// </summary>
    public PreparedTransactionState? PreparedTransaction => _transactions?.PreparedTransaction;

    /// <summary>True while a transaction is prepared (KIP-939) and not yet completed.</summary>
    public bool IsPrepared => PreparedTransaction is not null;

    /// <summary>
    /// The transaction protocol in use, known after <see cref="InitTransactionsAsync(bool, CancellationToken)"/>: 2 when
    /// the broker finalizes <c>transaction.version</c> ≥ 2 (KIP-890 TV2: every transaction gets a new epoch, so a
    /// prepared-transaction token names exactly one transaction), 1 otherwise; 0 for a producer without a
    /// transactional id.
    /// </summary>
    public int TransactionVersion => _transactions is null ? 0 : _transactions.IsTransactionV2 ? 2 : 1;

    /// <summary>
    /// Produces a record. The returned task completes when the broker has acknowledged it (per <c>acks</c>) with
    /// its partition and offset, or faults with a <see cref="KafkaException"/> once retries are exhausted
    /// (<c>delivery.timeout.ms</c>). Waits up to <c>max.block.ms</c> for metadata and for <c>buffer.memory</c>
    /// space (back-pressure).
    /// </summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels waiting for metadata or buffer space; once the record is appended it
    /// is sent regardless.</param>
    /// <returns>Where the record was written.</returns>
    /// <exception cref="InvalidOperationException">Transactional producer outside a transaction, or while a
    /// transaction is prepared.</exception>
    public Task<DeliveryResult> ProduceAsync(ProducerRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _transactions?.EnsureCanSend();
        return _engine.AppendAsync(record, cancellationToken);
    }

    /// <summary>Produces a record with the given key and value; see
    /// <see cref="ProduceAsync(ProducerRecord, CancellationToken)"/>.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key, or null.</param>
    /// <param name="value">The value, or null.</param>
    /// <param name="cancellationToken">Cancels waiting for metadata or buffer space.</param>
    /// <returns>Where the record was written.</returns>
    public Task<DeliveryResult> ProduceAsync(
        string topic, byte[]? key, byte[]? value, CancellationToken cancellationToken = default) =>
        ProduceAsync(new ProducerRecord(topic, key, value), cancellationToken);

    /// <summary>Sends every buffered record now (ignoring <c>linger.ms</c>) and waits until each one appended before
    /// this call is acknowledged or failed. Failures are reported through the records' own tasks.</summary>
    /// <param name="cancellationToken">Cancels the wait (not the sends).</param>
    public Task FlushAsync(CancellationToken cancellationToken = default) => _engine.FlushAsync(cancellationToken);

    /// <summary>
    /// Registers the transactional id with its coordinator, fencing any earlier producer with the same id, and
    /// aborts a transaction that producer left open. Call once before the first transaction.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task InitTransactionsAsync(CancellationToken cancellationToken = default) =>
        InitTransactionsAsync(keepPreparedTransaction: false, cancellationToken);

    /// <summary>
    /// Like <see cref="InitTransactionsAsync(CancellationToken)"/>; with <paramref name="keepPreparedTransaction"/>
    /// (KIP-939) a transaction left prepared by an earlier incarnation is kept instead of aborted: the producer then
    /// starts in the prepared state and <see cref="PreparedTransaction"/> holds that transaction's token, to be
    /// resolved with <see cref="CompleteTransactionAsync"/>.
    /// </summary>
    /// <param name="keepPreparedTransaction">Re-attach to a prepared transaction (needs
    /// <c>transaction.two.phase.commit.enable=true</c>).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="BrokerCapabilityException">Two-phase commit is enabled but the broker does not advertise
    /// InitProducerId v6, or it rejected KeepPreparedTxn with UNSUPPORTED_VERSION. Nothing was changed on the
    /// broker; the message names the missing capability.</exception>
    /// <exception cref="KafkaRetriableException">Timed out after <c>max.block.ms</c>; the call may be repeated.
    /// </exception>
    public async Task InitTransactionsAsync(bool keepPreparedTransaction, CancellationToken cancellationToken = default)
    {
        var transactions = RequireTransactions();
        using var activity = _diagnostics.ActivitySource.StartActivity("Lockstep.Client.InitTransactions");
        activity?.SetTag("messaging.kafka.transactional_id", transactions.TransactionalId);
        activity?.SetTag("lockstep.keep_prepared_transaction", keepPreparedTransaction);
        var start = _time.GetTimestamp();
        try
        {
            await transactions.InitTransactionsAsync(keepPreparedTransaction, cancellationToken).ConfigureAwait(false);
            activity?.SetTag("lockstep.prepared_transaction", transactions.PreparedTransaction?.ToString());
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        finally
        {
            _diagnostics.TransactionInitDuration.Record(_time.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    /// <summary>Starts a transaction (local only: the coordinator learns of it with the first record or offsets).
    /// </summary>
    /// <exception cref="InvalidOperationException">Not initialised, already in a transaction, or prepared.</exception>
    /// <exception cref="TransactionAbortableException">The previous transaction must be aborted first.</exception>
    public void BeginTransaction() => RequireTransactions().BeginTransaction();

    /// <summary>
    /// Adds consumer offsets to the transaction, so they commit or abort atomically with its records
    /// (consume-transform-produce). With transactions V2 this is one TxnOffsetCommit v5; with V1 it is
    /// AddOffsetsToTxn followed by TxnOffsetCommit.
    /// </summary>
    /// <param name="offsets">Per partition, the next offset to consume (last processed + 1).</param>
    /// <param name="groupMetadata">The consumer's group identity, used by the group coordinator to fence zombie
    /// consumers (KIP-447).</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task SendOffsetsToTransactionAsync(
        IReadOnlyDictionary<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata groupMetadata,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentNullException.ThrowIfNull(groupMetadata);
        return RequireTransactions().SendOffsetsAsync(offsets, groupMetadata, cancellationToken);
    }

    /// <summary>
    /// Flushes, then commits the transaction (or the prepared transaction). If a record failed, throws
    /// <see cref="TransactionAbortableException"/> and the transaction must be aborted.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait; a timed-out commit may be repeated.</param>
    public Task CommitTransactionAsync(CancellationToken cancellationToken = default) =>
        MeasureAsync("Lockstep.Client.CommitTransaction", _diagnostics.TransactionCommitDuration,
            t => t.CommitAsync(cancellationToken));

    /// <summary>
    /// Aborts the transaction (or the prepared transaction): records not yet sent fail, records already written
    /// are never exposed to read_committed consumers.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait; a timed-out abort may be repeated.</param>
    public Task AbortTransactionAsync(CancellationToken cancellationToken = default) =>
        MeasureAsync("Lockstep.Client.AbortTransaction", _diagnostics.TransactionAbortDuration,
            t => t.AbortAsync(cancellationToken));

    /// <summary>
    /// KIP-939 first phase: flushes every record of the transaction and moves it to the prepared state. No request
    /// is sent; the coordinator keeps the transaction open without a timeout. Store the returned token (its
    /// <see cref="PreparedTransactionState.ToString"/>) with the external commit decision, then call
    /// <see cref="CompleteTransactionAsync"/>, <see cref="CommitTransactionAsync"/> or
    /// <see cref="AbortTransactionAsync"/>. While prepared, producing, beginning, sending offsets and preparing
    /// again throw <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the flush wait.</param>
    /// <returns>The token of the prepared transaction.</returns>
    /// <exception cref="InvalidOperationException"><c>transaction.two.phase.commit.enable</c> is off, or no
    /// transaction is in progress, or one is already prepared.</exception>
    /// <exception cref="TransactionAbortableException">A record of the transaction failed; abort it.</exception>
    public async Task<PreparedTransactionState> PrepareTransactionAsync(CancellationToken cancellationToken = default)
    {
        PreparedTransactionState? state = null;
        await MeasureAsync("Lockstep.Client.PrepareTransaction", _diagnostics.TransactionPrepareDuration,
            async t => state = await t.PrepareAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        return state!;
    }

    /// <summary>
    /// KIP-939 recovery: commits the prepared transaction iff <paramref name="state"/> equals its token
    /// (<see cref="PreparedTransaction"/>), otherwise aborts it. A stale or empty token therefore aborts.
    /// </summary>
    /// <remarks>
    /// Divergence from Java: when no transaction is prepared, Java's <c>completeTransaction</c> throws
    /// <c>InvalidTxnStateException</c>; this method returns successfully without doing anything. A recovery routine
    /// can then call it unconditionally at start-up — right after a successful commit the producer is READY and
    /// there is nothing to complete — which is what participants of an external 2PC need (repeated completion must
    /// succeed; cf. KAFKA-19272 and kip939-spec.md §3.5 pitfall 3). Check <see cref="IsPrepared"/> to tell the cases
    /// apart.
    /// </remarks>
    /// <param name="state">The token stored by the external transaction manager.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    public Task CompleteTransactionAsync(PreparedTransactionState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        return MeasureAsync("Lockstep.Client.CompleteTransaction", null, async t =>
        {
            var committed = await t.CompleteAsync(state, cancellationToken).ConfigureAwait(false);
            Activity.Current?.SetTag("lockstep.outcome", committed switch
            {
                true => "commit",
                false => "abort",
                null => "nothing-prepared",
            });
        });
    }

    private async Task MeasureAsync(
        string name, System.Diagnostics.Metrics.Histogram<double>? histogram, Func<TransactionManager, Task> operation)
    {
        var transactions = RequireTransactions();
        using var activity = _diagnostics.ActivitySource.StartActivity(name);
        activity?.SetTag("messaging.kafka.transactional_id", transactions.TransactionalId);
        var start = _time.GetTimestamp();
        try
        {
            await operation(transactions).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
        finally
        {
            histogram?.Record(_time.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    private TransactionManager RequireTransactions()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _transactions ?? throw new InvalidOperationException(
            "This producer is not transactional: set transactional.id to use transactions.");
    }

    /// <summary>
    /// Flushes buffered records (waiting up to <c>delivery.timeout.ms</c>), then closes every connection. An open
    /// transaction is neither committed nor aborted: the coordinator aborts it after <c>transaction.timeout.ms</c>,
    /// or — for a prepared two-phase-commit transaction — keeps it for the next incarnation to complete.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(Options.DeliveryTimeout, _time);
            await _engine.FlushAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _engine.Stop();
        }
        finally
        {
            await _engine.DisposeAsync().ConfigureAwait(false);
            await _cluster.DisposeAsync().ConfigureAwait(false);
            _transactions?.Dispose();
        }
    }
}
