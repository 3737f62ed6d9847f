using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Handlers;
using Lockstep.Broker.Internal;
using Lockstep.Broker.Partitions;
using Lockstep.Protocol;
using Lockstep.Storage;
using Microsoft.Extensions.Logging;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>
/// The transaction coordinator (KIP-98, KIP-360, KIP-890 transactions V2, KIP-939 two-phase commit): owns every
/// transactional id's state (kip939-spec.md §7), persists each transition in the internal
/// <c>__transaction_state</c> log before it takes effect, writes the COMMIT/ABORT markers, aborts timed-out
/// transactions and expires idle ids. Serves InitProducerId (with a transactional id), AddPartitionsToTxn,
/// AddOffsetsToTxn, EndTxn, ListTransactions and DescribeTransactions, and answers the partitions'
/// produce-time verification (<see cref="ITransactionVerifier"/>).
/// </summary>
/// <remarks>
/// <para><b>Single owner: one lock</b> (style-guide §3.2 rule 6 allows one lock or one executor). Every read and
/// write of transactional state happens under <c>_lock</c>; nothing else touches it. A lock rather than the group
/// coordinator's channel executor because <see cref="ITransactionVerifier.Verify"/> must answer
/// <em>synchronously</em> inside the partition's append lock (the produce path may not await before its append,
/// see <c>IApiHandler</c>), which a queue cannot do. Each decision is microseconds; the transaction-log append is
/// made under the lock too (a write to the OS, not an fsync), so records reach the log in exactly the order the
/// decisions were taken. Waiting — for fsync, for markers — always happens outside the lock, and the lock is never
/// held while calling into a partition: partitions call <see cref="Verify"/> holding their append lock, so the
/// only lock order is partition → coordinator.</para>
/// <para><b>Two-step transitions</b> (Kafka's <c>prepareTransitionTo</c>/<c>completeTransitionTo</c>): a decision
/// builds the next immutable <see cref="TxnSnapshot"/>, stores it as <see cref="TransactionEntry.Pending"/> and
/// appends its record; only when the record is durable is it installed. While a transition is pending every other
/// request on that id gets CONCURRENT_TRANSACTIONS.</para>
/// <para><b>EndTxn</b> completes synchronously from the client's point of view: persist Prepare* → write the marker
/// to every partition (<see cref="ITransactionMarkerWriter"/>) → persist Complete* → respond. Kafka responds after
/// Prepare* and writes markers in the background, so a fast client's next request can meet
/// CONCURRENT_TRANSACTIONS; waiting here removes that back-off on a single node (issue 4 latency goal).</para>
/// <para><b>Coordinator epoch</b>: Kafka uses the leader epoch of the <c>__transaction_state</c> partition. A single
/// node never changes leader, so a counter persisted in <c>transaction-coordinator-epoch</c> is incremented on every
/// start instead; it goes into every marker, so markers resent after a restart supersede those of the previous
/// incarnation on the partition side.</para>
/// </remarks>
internal sealed partial class TransactionCoordinator : IBrokerComponent, ITransactionVerifier
{
    private const string EpochFileName = "transaction-coordinator-epoch";
    private static readonly TimeSpan MinRetryDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly BrokerCore _core;
    private readonly ProducerIdManager _producerIds;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();

    // Taken once: completions still running while DisposeAsync finishes must not touch the disposed source.
    private readonly CancellationToken _stoppingToken;

    // Guarded by _lock.
    private readonly Dictionary<string, TransactionEntry> _entries = new(StringComparer.Ordinal);
    private TransactionLog? _log;
    private bool _disposed;

    private ITimer? _reaperTimer;
    private ITimer? _expirationTimer;

    /// <summary>Creates the coordinator; <see cref="Open"/> loads its state.</summary>
    /// <param name="core">Broker services.</param>
    /// <param name="producerIds">The broker's producer id allocator (shared with idempotent producers).</param>
    public TransactionCoordinator(BrokerCore core, ProducerIdManager producerIds)
    {
        _core = core;
        _producerIds = producerIds;
        _logger = core.LoggerFactory.CreateLogger<TransactionCoordinator>();
        MarkerWriter = new PartitionMarkerWriter(core);
        _stoppingToken = _stopping.Token;
    }

    /// <summary>The coordinator epoch of this broker incarnation (written into every marker).</summary>
    public int CoordinatorEpoch { get; private set; }

    /// <summary>Authorization check points (allow-all until ACLs exist). Settable for tests.</summary>
    public ITransactionAuthorizer Authorizer { get; set; } = AllowAllTransactionAuthorizer.Instance;

    /// <summary>Where markers go. Settable for tests (hold back or fail markers).</summary>
    public ITransactionMarkerWriter MarkerWriter { get; set; }

    /// <summary>The finalized <c>transaction.version</c> (server TV): epoch-fence aborts use it, and it picks the
    /// transaction-log value version.</summary>
    public short ServerTransactionVersion => _core.Config.TransactionVersion;

    private BrokerConfig Config => _core.Config;

    private long NowMs => _core.Time.GetUtcNow().ToUnixTimeMilliseconds();

    private TransactionLog Log => _log ?? throw new InvalidOperationException("The transaction coordinator is not open.");

    /// <inheritdoc />
    public void Open()
    {
        CoordinatorEpoch = BumpCoordinatorEpoch();

        // Like __consumer_offsets: no time/size retention; an id disappears only through its tombstone.
        var config = Config.DefaultLogConfig with { RetentionMs = -1, RetentionBytes = -1 };
        var partitionLog = _core.Logs.GetOrCreateLog(new TopicPartition(TransactionLog.TopicName, 0), config);
        _log = new TransactionLog(partitionLog, _core.Codecs);
        var loaded = new Dictionary<string, TxnSnapshot>(StringComparer.Ordinal);
        _log.Replay((id, snapshot) =>
        {
            if (snapshot is null)
            {
                loaded.Remove(id);
            }
            else
            {
                loaded[id] = snapshot;
            }
        });

        lock (_lock)
        {
            foreach (var (id, snapshot) in loaded)
            {
                _entries[id] = new TransactionEntry(id, snapshot);
            }
        }

        LogLoaded(loaded.Count, CoordinatorEpoch);
        CreateMetrics();
        _core.TransactionVerifier = this;
    }

    /// <inheritdoc />
    public void Start(CancellationToken stopping)
    {
        // Kafka resends markers for every id found in Prepare* when it becomes leader of a log partition
        // (TransactionStateManager.loadTransactionsForTxnTopicPartition → sendTxnMarkers); here that is once per start,
        // after the partitions are open.
        List<TransactionEntry> unfinished;
        lock (_lock)
        {
            unfinished = _entries.Values.Where(e => e.Current.State.IsPrepare() && e.Completion is null).ToList();
            foreach (var entry in unfinished)
            {
                entry.Completion = CompleteAsync(entry, entry.Current, Task.FromResult(ErrorCode.None));
            }
        }

        var reap = TimeSpan.FromMilliseconds(Config.TransactionCleanupIntervalMs);
        _reaperTimer = _core.Time.CreateTimer(_ => AbortTimedOutTransactions(), null, reap, reap);
        var expire = TimeSpan.FromMilliseconds(Config.TransactionalIdExpirationCheckIntervalMs);
        _expirationTimer = _core.Time.CreateTimer(_ => ExpireTransactionalIds(), null, expire, expire);
    }

    /// <inheritdoc />
    public IEnumerable<IApiHandler> CreateHandlers() =>
    [
        new InitProducerIdHandler(_producerIds, this, Config),
        new AddPartitionsToTxnHandler(this, _core.Topics),
        new AddOffsetsToTxnHandler(this),
        new EndTxnHandler(this),
        new ListTransactionsHandler(this),
        new DescribeTransactionsHandler(this),
    ];

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_reaperTimer is not null)
        {
            await _reaperTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_expirationTimer is not null)
        {
            await _expirationTimer.DisposeAsync().ConfigureAwait(false);
        }

        List<Task> running;
        lock (_lock)
        {
            _disposed = true;
            running = _entries.Values.Select(e => e.Completion).OfType<Task>().ToList();
        }

        if (ReferenceEquals(_core.TransactionVerifier, this))
        {
            _core.TransactionVerifier = null;
        }

        // In-flight completions stop at their next wait; Prepare* is durable, so the next start finishes them.
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var task in running)
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Expected on shutdown.
            }
        }

        _stopping.Dispose();
    }

    // ---- persistence ----------------------------------------------------------------------------------------

    /// <summary>
    /// Under <c>_lock</c>: records <paramref name="next"/> as pending and appends its record (a tombstone for
    /// <see cref="TransactionState.Dead"/>). The returned task installs it once durable and yields None, or clears
    /// the pending state and yields COORDINATOR_NOT_AVAILABLE when the write failed (Kafka maps log-append failures
    /// to retriable coordinator errors in <c>TransactionStateManager.appendTransactionToLog</c>).
    /// </summary>
    private Task<ErrorCode> PersistLockedAsync(TransactionEntry entry, TxnSnapshot next)
    {
        if (_disposed)
        {
            return Task.FromResult(ErrorCode.CoordinatorNotAvailable);
        }

        entry.Pending = next;
        var sequence = ++entry.IssuedSequence;
        Task durable;
        try
        {
            durable = Log.AppendAsync(entry.TransactionalId, next.State == TransactionState.Dead ? null : next,
                ServerTransactionVersion, NowMs);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            ClearPending(entry, sequence);
            LogAppendFailed(e, entry.TransactionalId);
            return Task.FromResult(ErrorCode.CoordinatorNotAvailable);
        }

        return InstallWhenDurableAsync(entry, next, sequence, durable);
    }

    private async Task<ErrorCode> InstallWhenDurableAsync(TransactionEntry entry, TxnSnapshot next, long sequence, Task durable)
    {
        try
        {
            await durable.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            lock (_lock)
            {
                ClearPending(entry, sequence);
            }

            LogAppendFailed(e, entry.TransactionalId);
            return ErrorCode.CoordinatorNotAvailable;
        }

        lock (_lock)
        {
            Install(entry, next, sequence);
        }

        return ErrorCode.None;
    }

    private static void ClearPending(TransactionEntry entry, long sequence)
    {
        if (sequence == entry.IssuedSequence)
        {
            entry.Pending = null;
        }
    }

    /// <summary>Kafka's <c>completeTransitionTo</c>: installs a durable transition after checking it is legal.</summary>
    private void Install(TransactionEntry entry, TxnSnapshot next, long sequence)
    {
        if (sequence <= entry.InstalledSequence)
        {
            return; // A newer chained transition was installed already; it includes this one.
        }

        ClearPending(entry, sequence);
        var from = entry.Current.State;
        if (!TransactionStates.IsValidTransition(from, next.State))
        {
            // A coordinator bug, not a client error: refuse to install rather than corrupt the state further.
            throw new InvalidOperationException(
                $"Illegal transaction state transition {from} → {next.State} for '{entry.TransactionalId}'.");
        }

        entry.InstalledSequence = sequence;
        if (next.State == TransactionState.Dead)
        {
            _entries.Remove(entry.TransactionalId);
            return;
        }

        entry.Current = next;
    }

    // ---- completion: markers ----------------------------------------------------------------------------------

    /// <summary>
    /// Finishes a transaction whose Prepare* record is being written (<paramref name="prepared"/> yields its
    /// outcome): writes a marker to every partition, then persists Complete*. Returns the (producer id, epoch) the
    /// client continues with. Retries storage trouble until the broker stops; the Prepare* record is durable, so a
    /// restart resumes here.
    /// </summary>
    private async Task<EndTxnResult> CompleteAsync(TransactionEntry entry, TxnSnapshot prepare, Task<ErrorCode> prepared)
    {
        // Callers start this under _lock; leave it before anything can reach a partition (lock order: partition →
        // coordinator, never the reverse).
        await Task.Yield();
        var error = await prepared.ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            lock (_lock)
            {
                entry.Completion = null;
            }

            return new EndTxnResult(error);
        }

        var cancellationToken = _stoppingToken;
        var commit = prepare.State == TransactionState.PrepareCommit;
        await Task.WhenAll(prepare.Partitions.Select(p => WriteMarkerAsync(
            entry.TransactionalId, p, prepare, commit, cancellationToken))).ConfigureAwait(false);

        var delay = MinRetryDelay;
        while (true)
        {
            Task<ErrorCode> persisted;
            TxnSnapshot complete;
            lock (_lock)
            {
                complete = CompletedSnapshot(prepare);
                persisted = PersistLockedAsync(entry, complete);
            }

            if (await persisted.ConfigureAwait(false) == ErrorCode.None)
            {
                lock (_lock)
                {
                    entry.Completion = null;
                }

                LogCompleted(entry.TransactionalId, complete.State, prepare.ProducerId, prepare.ProducerEpoch);
                return new EndTxnResult(ErrorCode.None, complete.ProducerId, complete.ProducerEpoch);
            }

            await Task.Delay(delay, _core.Time, cancellationToken).ConfigureAwait(false);
            delay = delay * 2 > MaxRetryDelay ? MaxRetryDelay : delay * 2;
        }
    }

    /// <summary>Kafka's <c>prepareComplete</c>: Complete*, no partitions, and the id/epoch the client continues
    /// with (a pending rotation to <see cref="TxnSnapshot.NextProducerId"/> takes effect now).</summary>
    private TxnSnapshot CompletedSnapshot(TxnSnapshot prepare)
    {
        var rotate = prepare.NextProducerId != TxnSnapshot.NoProducerId;
        return prepare with
        {
            State = prepare.State == TransactionState.PrepareCommit ? TransactionState.CompleteCommit : TransactionState.CompleteAbort,
            ProducerId = rotate ? prepare.NextProducerId : prepare.ProducerId,
            ProducerEpoch = rotate ? Math.Max((short)0, prepare.NextProducerEpoch) : prepare.ProducerEpoch,
            PreviousProducerId = rotate ? prepare.ProducerId : prepare.PreviousProducerId,
            NextProducerId = TxnSnapshot.NoProducerId,
            NextProducerEpoch = TxnSnapshot.NoProducerEpoch,
            Partitions = [],
            LastUpdateMs = NowMs,
        };
    }

    /// <summary>
    /// Writes one marker, retrying what Kafka's <c>TransactionMarkerRequestCompletionHandler</c> retries. Errors
    /// meaning the marker is moot end the attempt: the partition is gone (Kafka drops markers for deleted topics),
    /// or the partition has seen a newer epoch or coordinator (INVALID_PRODUCER_EPOCH /
    /// TRANSACTION_COORDINATOR_FENCED: superseded).
    /// </summary>
    private async Task WriteMarkerAsync(string transactionalId, TopicPartition partition, TxnSnapshot prepare, bool commit,
        CancellationToken cancellationToken)
    {
        var delay = MinRetryDelay;
        while (true)
        {
            ErrorCode error;
            try
            {
                error = await MarkerWriter.WriteAsync(partition, prepare.ProducerId, prepare.ProducerEpoch, commit,
                    CoordinatorEpoch, prepare.ClientTransactionVersion, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                error = ErrorCode.KafkaStorageError;
            }

            switch (error)
            {
                case ErrorCode.None:
                    return;
                case ErrorCode.UnknownTopicOrPartition or ErrorCode.UnsupportedForMessageFormat or ErrorCode.UnsupportedVersion:
                case ErrorCode.InvalidProducerEpoch or ErrorCode.TransactionCoordinatorFenced:
                    LogMarkerDropped(transactionalId, partition, error);
                    return;
                default:
                    LogMarkerRetry(transactionalId, partition, error);
                    break;
            }

            await Task.Delay(delay, _core.Time, cancellationToken).ConfigureAwait(false);
            delay = delay * 2 > MaxRetryDelay ? MaxRetryDelay : delay * 2;
        }
    }

    private int BumpCoordinatorEpoch()
    {
        var path = Path.Combine(_core.DataDirectory, EpochFileName);
        var bytes = AtomicFile.TryRead(_core.FileSystem, path);
        var epoch = 0;
        if (bytes is not null)
        {
            // Format: "v1 <epoch>\n", replaced atomically (like producer-ids).
            var parts = Encoding.ASCII.GetString(bytes).Split(' ', '\n');
            if (parts.Length < 2 || parts[0] != "v1"
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out epoch))
            {
                throw new InvalidDataException($"{path} is corrupt; refusing to start (markers could carry a stale coordinator epoch).");
            }
        }

        var next = checked(epoch + 1);
        AtomicFile.Write(_core.FileSystem, path, Encoding.ASCII.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"v1 {next}\n")));
        return next;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "transaction coordinator loaded {Count} transactional id(s), coordinator epoch {Epoch}")]
    private partial void LogLoaded(int count, int epoch);

    [LoggerMessage(Level = LogLevel.Error, Message = "could not append the transaction-log record of '{TransactionalId}'")]
    private partial void LogAppendFailed(Exception e, string transactionalId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "'{TransactionalId}' reached {State} (producer {ProducerId}, epoch {Epoch})")]
    private partial void LogCompleted(string transactionalId, TransactionState state, long producerId, short epoch);

    [LoggerMessage(Level = LogLevel.Warning, Message = "'{TransactionalId}': marker for {Partition} dropped ({Error})")]
    private partial void LogMarkerDropped(string transactionalId, TopicPartition partition, ErrorCode error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "'{TransactionalId}': marker for {Partition} failed ({Error}); retrying")]
    private partial void LogMarkerRetry(string transactionalId, TopicPartition partition, ErrorCode error);
}

/// <summary>The outcome of InitProducerId for a transactional id.</summary>
/// <param name="Error">None or the coordinator's error (before per-version translation).</param>
/// <param name="ProducerId">The producer id the client uses from now on (−1 on error).</param>
/// <param name="ProducerEpoch">Its epoch (−1 on error).</param>
/// <param name="OngoingProducerId">KIP-939 keepPreparedTxn: the kept transaction's id, else −1.</param>
/// <param name="OngoingProducerEpoch">KIP-939 keepPreparedTxn: the kept transaction's epoch, else −1.</param>
internal readonly record struct InitProducerIdResult(
    ErrorCode Error, long ProducerId = -1, short ProducerEpoch = -1, long OngoingProducerId = -1, short OngoingProducerEpoch = -1);

/// <summary>The outcome of EndTxn.</summary>
/// <param name="Error">None or the coordinator's error (before per-version translation).</param>
/// <param name="ProducerId">TV2: the id the client uses next; −1 otherwise.</param>
/// <param name="ProducerEpoch">TV2: the epoch the client uses next; −1 otherwise.</param>
internal readonly record struct EndTxnResult(ErrorCode Error, long ProducerId = -1, short ProducerEpoch = -1);
