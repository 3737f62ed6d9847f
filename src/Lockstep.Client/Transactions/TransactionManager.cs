using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Internal;
using Lockstep.Client.Producer;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Lockstep.Client.Transactions;

/// <summary>
/// The transactional producer's state machine and coordinator RPCs (Java's <c>TransactionManager</c>,
/// kip939-spec.md §3.4), with KIP-890 transactions V2 and KIP-939 two-phase commit.
/// </summary>
/// <remarks>
/// <para>Threading: application calls are serialised by <c>_operationLock</c>; <c>_lock</c> guards the fields below
/// and is also taken from the sender (under the engine's lock — so never call into the engine while holding
/// <c>_lock</c>).</para>
/// <para>Two identities (kip939-spec.md §3.5 pitfall 4): the engine holds the client-facing producer id/epoch used
/// for every request; <c>_prepared</c> holds the id/epoch the prepared transaction's data was written with, which is
/// what a <see cref="PreparedTransactionState"/> token is compared against. After a keepPreparedTxn recovery they
/// differ.</para>
/// <para>Invariants: <c>_transactionStarted</c> is true whenever the coordinator may hold an ongoing transaction for
/// us — set on the first produce (TV2), the first successful AddPartitionsToTxn/AddOffsetsToTxn (TV1), or when
/// InitProducerId reports a kept prepared transaction (pitfall 2: otherwise a recovered commit would never send
/// EndTxn).</para>
/// </remarks>
internal sealed class TransactionManager : IDisposable
{
    // TxnOffsetCommit v5 / EndTxn v5 signal TV2 (KIP-890); TV1 clients cap at v4 (EndTxnRequest /
    // TxnOffsetCommitRequest LAST_STABLE_VERSION_BEFORE_TRANSACTION_V2). TxnOffsetCommit v6 needs topic ids.
    private const short EndTxnMaxVersionTv1 = 4;
    private const short EndTxnMaxVersionTv2 = 5;
    private const short TxnOffsetCommitMaxVersionTv1 = 4;
    private const short TxnOffsetCommitMaxVersionTv2 = 5;

    // Clients send the v0-3 form; v4+ is the broker-to-broker batched form (KIP-890).
    private const short AddPartitionsToTxnMaxVersion = 3;

    // KIP-939: Enable2Pc / KeepPreparedTxn exist only from InitProducerId v6.
    private const short InitProducerIdTwoPhaseVersion = 6;

    // Java retries CONCURRENT_TRANSACTIONS quickly (AddPartitionsToTxnHandler: 20 ms) because the previous
    // transaction's markers are usually written within milliseconds.
    private static readonly TimeSpan ConcurrentTransactionsBackoff = TimeSpan.FromMilliseconds(20);

    private readonly KafkaCluster _cluster;
    private readonly KafkaProducerOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _operationLock = new(1, 1);
    private readonly Lock _lock = new();
    private readonly HashSet<TopicPartition> _partitionsInTransaction = [];
    private readonly HashSet<TopicPartition> _pendingAdd = [];
    private TransactionState _state = TransactionState.Uninitialized;
    private Exception? _lastError;
    private bool _transactionStarted;
    private bool _sequenceGap;
    private PreparedTransactionState? _prepared;
    private Task? _addPartitionsTask;
    private ProducerEngine _engine = null!;

    public TransactionManager(KafkaCluster cluster, KafkaProducerOptions options)
    {
        _cluster = cluster;
        _options = options;
        TransactionalId = options.TransactionalId!;
        _logger = cluster.LoggerFactory.CreateLogger("Lockstep.Client.Transactions");
    }

    public string TransactionalId { get; }

    /// <summary>KIP-890 transactions V2, decided at InitTransactions from the coordinator's finalized features.</summary>
    public bool IsTransactionV2 { get; private set; }

    public TransactionState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    public PreparedTransactionState? PreparedTransaction
    {
        get
        {
            lock (_lock)
            {
                return _state == TransactionState.PreparedTransaction ? _prepared : null;
            }
        }
    }

    internal void Attach(ProducerEngine engine) => _engine = engine;

    public void Dispose() => _operationLock.Dispose();

    // ---- Transitions (kip939-spec.md §3.4 table) ----

    private static bool IsAllowed(TransactionState source, TransactionState target) => target switch
    {
        TransactionState.Uninitialized => source is TransactionState.Ready or TransactionState.AbortableError,
        TransactionState.Initializing => source is TransactionState.Uninitialized
            or TransactionState.CommittingTransaction or TransactionState.AbortingTransaction,
        TransactionState.Ready => source is TransactionState.Initializing or TransactionState.CommittingTransaction
            or TransactionState.AbortingTransaction,
        TransactionState.InTransaction => source is TransactionState.Ready,
        TransactionState.PreparedTransaction => source is TransactionState.InTransaction or TransactionState.Initializing,
        TransactionState.CommittingTransaction => source is TransactionState.InTransaction
            or TransactionState.PreparedTransaction,
        TransactionState.AbortingTransaction => source is TransactionState.InTransaction
            or TransactionState.PreparedTransaction or TransactionState.AbortableError,
        TransactionState.AbortableError => source is TransactionState.InTransaction
            or TransactionState.CommittingTransaction or TransactionState.AbortableError
            or TransactionState.Initializing,
        TransactionState.FatalError => true,
        _ => false,
    };

    /// <summary>Application-thread transition: an invalid one throws and leaves the state unchanged.</summary>
    private void TransitionLocked(TransactionState target, string operation)
    {
        ThrowIfFatalLocked();

        // A commit or abort that timed out may be repeated (Java keeps the pending result and retries).
        var repeat = _state == target
            && target is TransactionState.CommittingTransaction or TransactionState.AbortingTransaction;
        if (!repeat && !IsAllowed(_state, target))
        {
            throw new InvalidOperationException(
                $"Cannot {operation}: the transactional producer '{TransactionalId}' is in state {_state}, and " +
                $"{_state} → {target} is not a valid transition.");
        }

        _state = target;
    }

    private void ThrowIfFatalLocked()
    {
        if (_state == TransactionState.FatalError)
        {
            throw _lastError as KafkaFatalException ?? new KafkaFatalException(ErrorCode.UnknownServerError,
                $"The producer is in a fatal state and must be disposed: {_lastError?.Message}", _lastError);
        }
    }

    private void ThrowIfPreparedLocked(string operation)
    {
        if (_state == TransactionState.PreparedTransaction)
        {
            throw new InvalidOperationException(
                $"Cannot {operation} while the transaction is in a prepared state (KIP-939): complete it first with " +
                "CompleteTransactionAsync, CommitTransactionAsync or AbortTransactionAsync.");
        }
    }

    private void ThrowIfAbortableLocked()
    {
        if (_state == TransactionState.AbortableError)
        {
            throw new TransactionAbortableException(
                (_lastError as KafkaException)?.ErrorCode ?? ErrorCode.UnknownServerError,
                $"The transaction cannot continue and must be aborted (AbortTransactionAsync): {_lastError?.Message}",
                _lastError);
        }
    }

    // ---- Called by the engine (possibly under the engine's lock) ----

    /// <summary>Whether the sender may send a batch for <paramref name="partition"/> now. TV1 adds the partition to
    /// the transaction first (AddPartitionsToTxn before the first produce); TV2 adds implicitly via Produce v12.
    /// </summary>
    public bool CanSendTo(TopicPartition partition)
    {
        lock (_lock)
        {
            if (_state is not (TransactionState.InTransaction or TransactionState.CommittingTransaction))
            {
                return false;
            }

            if (IsTransactionV2 || _partitionsInTransaction.Contains(partition))
            {
                return true;
            }

            _pendingAdd.Add(partition);
            if (_addPartitionsTask is null || _addPartitionsTask.IsCompleted)
            {
                _addPartitionsTask = AddPartitionsLoopAsync();
            }

            return false;
        }
    }

    public void OnBatchesSent()
    {
        lock (_lock)
        {
            // TV2: the first Produce v12 makes the coordinator's transaction ongoing.
            _transactionStarted = true;
        }
    }

    public void OnAbortableError(Exception error, bool sequenceGap)
    {
        lock (_lock)
        {
            _sequenceGap |= sequenceGap;
            if (_state is TransactionState.InTransaction or TransactionState.CommittingTransaction
                or TransactionState.AbortableError)
            {
                _state = TransactionState.AbortableError;
                _lastError = error;
            }
        }
    }

    public void OnFatalError(Exception error)
    {
        lock (_lock)
        {
            _state = TransactionState.FatalError;
            _lastError ??= error;
        }
    }

    private void Fatal(Exception error)
    {
        OnFatalError(error);
        _engine.SetFatal(error);
    }

    // ---- Application operations ----

    /// <summary>Checks that a record may be produced now (Java: <c>maybeFailWithError</c> /
    /// <c>throwIfInPreparedState</c> in <c>send</c>).</summary>
    public void EnsureCanSend()
    {
        lock (_lock)
        {
            ThrowIfFatalLocked();
            ThrowIfPreparedLocked("send records");
            ThrowIfAbortableLocked();
            if (_state != TransactionState.InTransaction)
            {
                throw new InvalidOperationException(_state switch
                {
                    TransactionState.Uninitialized =>
                        "Cannot send records: call InitTransactionsAsync before producing with a transactional.id.",
                    TransactionState.Ready => "Cannot send records outside a transaction: call BeginTransaction first.",
                    _ => $"Cannot send records while the transaction is in state {_state}.",
                });
            }
        }
    }

    public async Task InitTransactionsAsync(bool keepPreparedTransaction, CancellationToken cancellationToken)
    {
        if (keepPreparedTransaction && !_options.TransactionTwoPhaseCommitEnable)
        {
            throw new InvalidOperationException(
                "InitTransactionsAsync(keepPreparedTransaction: true) needs transaction.two.phase.commit.enable=true: " +
                "only two-phase-commit producers can re-attach to a prepared transaction (KIP-939).");
        }

        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                ThrowIfPreparedLocked("initialize transactions");
                TransitionLocked(TransactionState.Initializing, "initialize transactions");
            }

            try
            {
                await InitProducerIdAsync(keepPreparedTransaction, bump: false, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is BrokerCapabilityException or KafkaRetriableException
                or OperationCanceledException)
            {
                // Nothing changed on the coordinator (or the call may simply be repeated, as in Java after a
                // TimeoutException): return to UNINITIALIZED so InitTransactionsAsync can be called again.
                lock (_lock)
                {
                    _state = TransactionState.Uninitialized;
                }

                throw;
            }
        }
        finally
        {
            _operationLock.Release();
        }
    }

    private async Task InitProducerIdAsync(bool keepPrepared, bool bump, CancellationToken cancellationToken)
    {
        var twoPhase = _options.TransactionTwoPhaseCommitEnable;
        var (currentId, currentEpoch) = _engine.Identity;
        short negotiated = -1;
        var response = await CoordinatorRequestAsync<InitProducerIdRequest, InitProducerIdResponse>(
            CoordinatorType.Transaction, TransactionalId, "InitProducerId",
            version => new InitProducerIdRequest
            {
                TransactionalId = TransactionalId,
                TransactionTimeoutMs = (int)Math.Min(_options.TransactionTimeout.TotalMilliseconds, int.MaxValue),
                ProducerId = version >= 3 && bump ? currentId : -1,
                ProducerEpoch = version >= 3 && bump ? currentEpoch : (short)-1,
                Enable2Pc = version >= InitProducerIdTwoPhaseVersion && twoPhase,
                KeepPreparedTxn = version >= InitProducerIdTwoPhaseVersion && keepPrepared,
            },
            r => (ErrorCode)r.ErrorCode,
            connection =>
            {
                negotiated = NegotiateInitProducerId(connection, twoPhase || keepPrepared);
                IsTransactionV2 = connection.Versions.TransactionVersion >= 2;
                return negotiated;
            },
            cancellationToken).ConfigureAwait(false);

        var error = (ErrorCode)response.ErrorCode;
        switch (error)
        {
            case ErrorCode.None:
                break;
            case ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch:
                var fenced = new ProducerFencedException(error,
                    $"InitProducerId for '{TransactionalId}': {error.KafkaName()}; a newer producer owns this " +
                    "transactional id.");
                Fatal(fenced);
                throw fenced;
            case ErrorCode.UnsupportedVersion when keepPrepared:
                // Apache Kafka 4.1–4.3 stub KeepPreparedTxn with UNSUPPORTED_VERSION (kip939-spec.md §7.10):
                // fail loudly rather than silently aborting the prepared transaction.
                throw new BrokerCapabilityException("InitProducerId KeepPreparedTxn",
                    "The broker does not support KIP-939 keepPreparedTransaction: it answered InitProducerId " +
                    $"v{negotiated} with KeepPreparedTxn=true with UNSUPPORTED_VERSION. The prepared transaction was " +
                    "left untouched; use a broker that implements KeepPreparedTxn (Lockstep, or Kafka with the " +
                    "KIP-939 recovery patch).");
            case ErrorCode.TransactionAbortable:
                var abortable = new TransactionAbortableException(error, $"InitProducerId for '{TransactionalId}'.");
                lock (_lock)
                {
                    _state = TransactionState.AbortableError;
                    _lastError = abortable;
                }

                throw abortable;
            default:
                var failure = new KafkaFatalException(error,
                    $"InitProducerId for '{TransactionalId}' failed: {error.KafkaName()} ({(short)error}).");
                Fatal(failure);
                throw failure;
        }

        _engine.SetIdentity(response.ProducerId, response.ProducerEpoch);
        lock (_lock)
        {
            _sequenceGap = false;
            if (keepPrepared && response.OngoingTxnProducerId != -1)
            {
                // KIP-939 recovery: the coordinator kept the prepared transaction; its token is the id/epoch its
                // data was written with, while requests from now on use the new client-facing id/epoch.
                _state = TransactionState.PreparedTransaction;
                _prepared = new PreparedTransactionState(response.OngoingTxnProducerId, response.OngoingTxnProducerEpoch);
                _transactionStarted = true;
            }
            else if (!bump)
            {
                _state = TransactionState.Ready;
                _prepared = null;
                _transactionStarted = false;
            }
        }

        var prepared = PreparedTransaction?.ToString() ?? "none";
        var transactionVersion = (short)(IsTransactionV2 ? 2 : 1);
        Log.TransactionsInitialised(_logger, TransactionalId, response.ProducerId, response.ProducerEpoch,
            transactionVersion, prepared);
    }

    private static short NegotiateInitProducerId(BrokerConnection connection, bool needTwoPhase)
    {
        if (!needTwoPhase)
        {
            return KafkaCluster.NegotiateVersion<InitProducerIdRequest, InitProducerIdResponse>(connection);
        }

        if (connection.Versions.MaxVersion(ApiKey.InitProducerId) < InitProducerIdTwoPhaseVersion)
        {
            var advertised = connection.Versions.TryGetRange(ApiKey.InitProducerId, out var min, out var max)
                ? $"v{min}-v{max}"
                : "no version";
            throw new BrokerCapabilityException("InitProducerId v6",
                $"The broker does not support KIP-939 two-phase commit: InitProducerId v6 not advertised (broker " +
                $"{connection.NodeId} advertises {advertised}). Enable transaction.two.phase.commit.enable on the " +
                "broker (Apache Kafka 4.1+ additionally needs unstable.api.versions.enable=true), or disable " +
                "transaction.two.phase.commit.enable on this producer.");
        }

        return InitProducerIdTwoPhaseVersion;
    }

    public void BeginTransaction()
    {
        lock (_lock)
        {
            ThrowIfPreparedLocked("begin a transaction");
            ThrowIfAbortableLocked();
            TransitionLocked(TransactionState.InTransaction, "begin a transaction");
            _transactionStarted = false;
            _partitionsInTransaction.Clear();
        }
    }

    public async Task SendOffsetsAsync(
        IReadOnlyDictionary<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group,
        CancellationToken cancellationToken)
    {
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                ThrowIfFatalLocked();
                ThrowIfPreparedLocked("send offsets to the transaction");
                ThrowIfAbortableLocked();
                if (_state != TransactionState.InTransaction)
                {
                    throw new InvalidOperationException(
                        $"Cannot send offsets to the transaction in state {_state}: call BeginTransaction first.");
                }
            }

            var (producerId, epoch) = _engine.Identity;
            if (!IsTransactionV2)
            {
                // TV1: register the group's offsets partition with the transaction first (KIP-98).
                var added = await CoordinatorRequestAsync<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>(
                    CoordinatorType.Transaction, TransactionalId, "AddOffsetsToTxn",
                    _ => new AddOffsetsToTxnRequest
                    {
                        TransactionalId = TransactionalId,
                        ProducerId = producerId,
                        ProducerEpoch = epoch,
                        GroupId = group.GroupId,
                    },
                    r => (ErrorCode)r.ErrorCode, null, cancellationToken).ConfigureAwait(false);
                ThrowOnTransactionError((ErrorCode)added.ErrorCode, "AddOffsetsToTxn");
            }

            lock (_lock)
            {
                _transactionStarted = true;
            }

            var maxVersion = IsTransactionV2 ? TxnOffsetCommitMaxVersionTv2 : TxnOffsetCommitMaxVersionTv1;
            var response = await CoordinatorRequestAsync<TxnOffsetCommitRequest, TxnOffsetCommitResponse>(
                CoordinatorType.Group, group.GroupId, "TxnOffsetCommit",
                version => BuildTxnOffsetCommit(version, offsets, group, producerId, epoch),
                FirstCoordinatorError,
                connection => KafkaCluster.NegotiateVersion<TxnOffsetCommitRequest, TxnOffsetCommitResponse>(
                    connection, maxVersion),
                cancellationToken).ConfigureAwait(false);
            foreach (var partition in response.Topics.SelectMany(t => t.Partitions))
            {
                ThrowOnTransactionError((ErrorCode)partition.ErrorCode, "TxnOffsetCommit");
            }
        }
        finally
        {
            _operationLock.Release();
        }
    }

    private TxnOffsetCommitRequest BuildTxnOffsetCommit(
        short version, IReadOnlyDictionary<TopicPartition, OffsetAndMetadata> offsets, ConsumerGroupMetadata group,
        long producerId, short epoch)
    {
        var request = new TxnOffsetCommitRequest
        {
            TransactionalId = TransactionalId,
            GroupId = group.GroupId,
            ProducerId = producerId,
            ProducerEpoch = epoch,
        };
        if (version >= 3)
        {
            // KIP-447 group metadata fencing; absent (defaults) before v3.
            request.GenerationIdOrMemberEpoch = group.GenerationId;
            request.MemberId = group.MemberId;
            request.GroupInstanceId = group.GroupInstanceId;
        }

        foreach (var topic in offsets.GroupBy(o => o.Key.Topic))
        {
            var entry = new TxnOffsetCommitRequest.TxnOffsetCommitRequestTopic { Name = topic.Key };
            foreach (var (partition, offset) in topic)
            {
                entry.Partitions.Add(new TxnOffsetCommitRequest.TxnOffsetCommitRequestPartition
                {
                    PartitionIndex = partition.Partition,
                    CommittedOffset = offset.Offset,
                    CommittedLeaderEpoch = version >= 2 ? offset.LeaderEpoch : -1,
                    CommittedMetadata = offset.Metadata,
                });
            }

            request.Topics.Add(entry);
        }

        return request;
    }

    private static ErrorCode FirstCoordinatorError(TxnOffsetCommitResponse response)
    {
        foreach (var partition in response.Topics.SelectMany(t => t.Partitions))
        {
            var error = (ErrorCode)partition.ErrorCode;
            if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable
                or ErrorCode.CoordinatorLoadInProgress or ErrorCode.ConcurrentTransactions)
            {
                return error;
            }
        }

        return ErrorCode.None;
    }

    /// <summary>Maps a coordinator error inside a transaction: fenced is fatal, the rest make it abortable.</summary>
    private void ThrowOnTransactionError(ErrorCode error, string api)
    {
        if (error == ErrorCode.None)
        {
            return;
        }

        if (error is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch)
        {
            var fenced = new ProducerFencedException(error, $"{api} for '{TransactionalId}': {error.KafkaName()}.");
            Fatal(fenced);
            throw fenced;
        }

        var abortable = new TransactionAbortableException(error,
            $"{api} for '{TransactionalId}' failed with {error.KafkaName()} ({(short)error}); abort the transaction.");
        OnAbortableError(abortable, sequenceGap: false);
        throw abortable;
    }

    public async Task<PreparedTransactionState> PrepareAsync(CancellationToken cancellationToken)
    {
        if (!_options.TransactionTwoPhaseCommitEnable)
        {
            // Java: InvalidTxnStateException. A usage error here: the configuration decides.
            throw new InvalidOperationException(
                "PrepareTransactionAsync needs transaction.two.phase.commit.enable=true (KIP-939).");
        }

        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                ThrowIfFatalLocked();
                ThrowIfPreparedLocked("prepare the transaction again");
                ThrowIfAbortableLocked();
                if (_state != TransactionState.InTransaction)
                {
                    throw new InvalidOperationException(
                        $"Cannot prepare in state {_state}: call BeginTransaction and produce first.");
                }
            }

            // KIP-939: prepare = flush + local transition; no RPC. The coordinator still sees Ongoing.
            await _engine.FlushAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                ThrowIfFatalLocked();
                ThrowIfAbortableLocked();
                TransitionLocked(TransactionState.PreparedTransaction, "prepare the transaction");
                var (producerId, epoch) = _engine.Identity;
                _prepared = new PreparedTransactionState(producerId, epoch);
                return _prepared;
            }
        }
        finally
        {
            _operationLock.Release();
        }
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                ThrowIfFatalLocked();
                ThrowIfAbortableLocked();
                TransitionLocked(TransactionState.CommittingTransaction, "commit the transaction");
            }

            await _engine.FlushAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                ThrowIfFatalLocked();

                // A record failed while flushing: the transaction can only be aborted.
                ThrowIfAbortableLocked();
            }

            await EndTransactionAsync(commit: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _operationLock.Release();
        }
    }

    public async Task AbortAsync(CancellationToken cancellationToken)
    {
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_lock)
            {
                TransitionLocked(TransactionState.AbortingTransaction, "abort the transaction");
            }

            _engine.BeginAbort(new TransactionAbortableException(ErrorCode.UnknownServerError,
                "The record was not sent: its transaction was aborted."));
            try
            {
                await _engine.WaitForNoInFlightAsync(cancellationToken).ConfigureAwait(false);
                await EndTransactionAsync(commit: false, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _engine.EndAbort();
            }
        }
        finally
        {
            _operationLock.Release();
        }
    }

    /// <summary>
    /// KIP-939 <c>completeTransaction</c>: commit iff <paramref name="state"/> equals the prepared transaction's
    /// token, else abort; a no-op when nothing is prepared (see <see cref="KafkaProducer.CompleteTransactionAsync"/>).
    /// </summary>
    /// <returns>True when it committed, false when it aborted, null when nothing was prepared.</returns>
    public async Task<bool?> CompleteAsync(PreparedTransactionState state, CancellationToken cancellationToken)
    {
        PreparedTransactionState? prepared;
        lock (_lock)
        {
            ThrowIfFatalLocked();
            prepared = _state == TransactionState.PreparedTransaction ? _prepared : null;
        }

        if (prepared is null)
        {
            return null;
        }

        if (prepared.Equals(state))
        {
            await CommitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }

        await AbortAsync(cancellationToken).ConfigureAwait(false);
        return false;
    }

    private async Task EndTransactionAsync(bool commit, CancellationToken cancellationToken)
    {
        bool started;
        lock (_lock)
        {
            started = _transactionStarted;
        }

        var (producerId, epoch) = _engine.Identity;
        if (started)
        {
            var maxVersion = IsTransactionV2 ? EndTxnMaxVersionTv2 : EndTxnMaxVersionTv1;
            short version = -1;
            var response = await CoordinatorRequestAsync<EndTxnRequest, EndTxnResponse>(
                CoordinatorType.Transaction, TransactionalId, "EndTxn",
                v =>
                {
                    version = v;
                    return new EndTxnRequest
                    {
                        TransactionalId = TransactionalId,
                        ProducerId = producerId,
                        ProducerEpoch = epoch,
                        Committed = commit,
                    };
                },
                r => (ErrorCode)r.ErrorCode,
                connection => KafkaCluster.NegotiateVersion<EndTxnRequest, EndTxnResponse>(connection, maxVersion),
                cancellationToken).ConfigureAwait(false);
            var error = (ErrorCode)response.ErrorCode;
            if (error != ErrorCode.None)
            {
                if (error is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch)
                {
                    var fenced = new ProducerFencedException(error,
                        $"EndTxn({(commit ? "commit" : "abort")}) for '{TransactionalId}': {error.KafkaName()}; a " +
                        "newer producer owns this transactional id.");
                    Fatal(fenced);
                    throw fenced;
                }

                if (error is ErrorCode.TransactionAbortable && commit)
                {
                    var abortable = new TransactionAbortableException(error,
                        $"EndTxn(commit) for '{TransactionalId}': {error.KafkaName()}; abort the transaction.");
                    OnAbortableError(abortable, sequenceGap: false);
                    throw abortable;
                }

                // INVALID_TXN_STATE, INVALID_PRODUCER_ID_MAPPING, authorization, TRANSACTION_ABORTABLE on abort:
                // fatal in Java's EndTxnHandler.
                var failure = new KafkaFatalException(error,
                    $"EndTxn({(commit ? "commit" : "abort")}) for '{TransactionalId}' failed: {error.KafkaName()} " +
                    $"({(short)error}).");
                Fatal(failure);
                throw failure;
            }

            if (version >= 5 && response.ProducerId >= 0)
            {
                // KIP-890 TV2: every transaction ends with an epoch bump; adopt it (sequences restart at 0).
                _engine.SetIdentity(response.ProducerId, response.ProducerEpoch);
            }
        }

        bool bump;
        lock (_lock)
        {
            bump = !commit && _sequenceGap && !IsTransactionV2;
        }

        if (bump)
        {
            // TV1 after a failed batch: sequences have a gap; bump the epoch with InitProducerId (KIP-360).
            await InitProducerIdAsync(keepPrepared: false, bump: true, cancellationToken).ConfigureAwait(false);
        }

        lock (_lock)
        {
            _state = TransactionState.Ready;
            _transactionStarted = false;
            _sequenceGap = false;
            _prepared = null;
            _partitionsInTransaction.Clear();
            _pendingAdd.Clear();
        }
    }

    private async Task AddPartitionsLoopAsync()
    {
        await Task.Yield();
        while (true)
        {
            TopicPartition[] pending;
            lock (_lock)
            {
                pending = _pendingAdd.Where(p => !_partitionsInTransaction.Contains(p)).ToArray();
                _pendingAdd.Clear();
                if (pending.Length == 0 || _state is not (TransactionState.InTransaction
                    or TransactionState.CommittingTransaction))
                {
                    _addPartitionsTask = null;
                    return;
                }
            }

            var (producerId, epoch) = _engine.Identity;
            try
            {
                using var timeout = new CancellationTokenSource(_options.MaxBlock, _cluster.Time);
                var response = await CoordinatorRequestAsync<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(
                    CoordinatorType.Transaction, TransactionalId, "AddPartitionsToTxn",
                    _ => new AddPartitionsToTxnRequest
                    {
                        V3AndBelowTransactionalId = TransactionalId,
                        V3AndBelowProducerId = producerId,
                        V3AndBelowProducerEpoch = epoch,
                        V3AndBelowTopics = pending.GroupBy(p => p.Topic).Select(g =>
                            new AddPartitionsToTxnRequest.AddPartitionsToTxnTopic
                            {
                                Name = g.Key,
                                Partitions = g.Select(p => p.Partition).ToList(),
                            }).ToList(),
                    },
                    r => r.ResultsByTopicV3AndBelow.SelectMany(t => t.ResultsByPartition)
                        .Select(p => (ErrorCode)p.PartitionErrorCode)
                        .FirstOrDefault(e => e is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable
                            or ErrorCode.CoordinatorLoadInProgress or ErrorCode.ConcurrentTransactions),
                    connection => KafkaCluster.NegotiateVersion<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>(
                        connection, AddPartitionsToTxnMaxVersion),
                    timeout.Token).ConfigureAwait(false);
                var failed = response.ResultsByTopicV3AndBelow
                    .SelectMany(t => t.ResultsByPartition.Select(p => (t.Name, p.PartitionIndex, Error: (ErrorCode)p.PartitionErrorCode)))
                    .Where(r => r.Error != ErrorCode.None)
                    .ToList();
                if (failed.Count > 0)
                {
                    ThrowOnTransactionError(failed[0].Error, $"AddPartitionsToTxn({failed[0].Name}-{failed[0].PartitionIndex})");
                }

                lock (_lock)
                {
                    _transactionStarted = true;
                    foreach (var partition in pending)
                    {
                        _partitionsInTransaction.Add(partition);
                    }
                }
            }
            catch (KafkaException ex) when (ex is not KafkaFatalException)
            {
                OnAbortableError(ex, sequenceGap: false);
            }
            catch (KafkaFatalException)
            {
                // Already recorded as fatal.
            }
            catch (OperationCanceledException ex)
            {
                OnAbortableError(new TransactionAbortableException(ErrorCode.RequestTimedOut,
                    "AddPartitionsToTxn did not complete within max.block.ms.", ex), sequenceGap: false);
            }

            _engine.Signal();
        }
    }

    /// <summary>
    /// Sends a request to the coordinator of <paramref name="key"/>, rediscovering it on NOT_COORDINATOR /
    /// COORDINATOR_NOT_AVAILABLE and retrying COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS and lost
    /// connections, all within <c>max.block.ms</c>. Other errors are returned for the caller to map.
    /// </summary>
    private async Task<TResponse> CoordinatorRequestAsync<TRequest, TResponse>(
        CoordinatorType type, string key, string api, Func<short, TRequest> build, Func<TResponse, ErrorCode> errorOf,
        Func<BrokerConnection, short>? negotiate, CancellationToken cancellationToken)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : class, IKafkaMessage<TResponse>
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cluster.Disposed);
        deadline.CancelAfter(_options.MaxBlock);
        var token = deadline.Token;
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                ErrorCode error;
                try
                {
                    var node = await _cluster.FindCoordinatorAsync(type, key, token).ConfigureAwait(false);
                    var connection = await _cluster.GetConnectionAsync(node, token).ConfigureAwait(false);
                    var version = negotiate?.Invoke(connection)
                        ?? KafkaCluster.NegotiateVersion<TRequest, TResponse>(connection);
                    var response = (await connection.SendAsync<TRequest, TResponse>(
                        build(version), version, expectResponse: true, token).ConfigureAwait(false))!;
                    error = errorOf(response);
                    if (error is not (ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable
                        or ErrorCode.CoordinatorLoadInProgress or ErrorCode.ConcurrentTransactions))
                    {
                        return response;
                    }
                }
                catch (KafkaRetriableException ex)
                {
                    error = ex.ErrorCode;
                }

                if (error is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable or ErrorCode.NetworkException
                    or ErrorCode.RequestTimedOut)
                {
                    _cluster.InvalidateCoordinator(type, key);
                }

                Log.TransactionRetry(_logger, api, error);
                var delay = error == ErrorCode.ConcurrentTransactions
                    ? ConcurrentTransactionsBackoff
                    : _cluster.Backoff(attempt);
                await Task.Delay(delay, _cluster.Time, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested
            && !_cluster.Disposed.IsCancellationRequested)
        {
            throw new KafkaRetriableException(ErrorCode.RequestTimedOut,
                $"{api} for '{TransactionalId}' did not complete within max.block.ms " +
                $"({_options.MaxBlock.TotalMilliseconds} ms); the call may be repeated.");
        }
    }
}
