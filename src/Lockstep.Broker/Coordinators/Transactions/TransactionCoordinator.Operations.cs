using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Transactions;

/// <summary>The client-facing operations: InitProducerId, AddPartitionsToTxn/AddOffsetsToTxn, EndTxn, verification.</summary>
internal sealed partial class TransactionCoordinator
{
    /// <summary>
    /// InitProducerId for a transactional id (kip939-spec.md §7.4 plus the KIP-939 rows of §7.10 and the
    /// keepPreparedTxn design of §7.11). Authorization and the request-shape checks (empty id, half-set id/epoch)
    /// are the handler's, as in <c>KafkaApis</c>. All state changes happen before the first await.
    /// </summary>
    /// <param name="transactionalId">Non-empty transactional id.</param>
    /// <param name="timeoutMs">Requested transaction timeout (ignored with <paramref name="enable2Pc"/>).</param>
    /// <param name="enable2Pc">KIP-939: the producer takes part in an external two-phase commit.</param>
    /// <param name="keepPreparedTxn">KIP-939: keep an ongoing (prepared) transaction instead of aborting it.</param>
    /// <param name="expectedProducerId">KIP-360 (v3+): the producer's current id, or −1.</param>
    /// <param name="expectedProducerEpoch">KIP-360 (v3+): the producer's current epoch, or −1.</param>
    /// <param name="cancellationToken">Stops waiting (not the transition: once decided it runs to its end).</param>
    public async ValueTask<InitProducerIdResult> InitProducerIdAsync(string transactionalId, int timeoutMs, bool enable2Pc,
        bool keepPreparedTxn, long expectedProducerId, short expectedProducerEpoch, CancellationToken cancellationToken = default)
    {
        var pending = InitProducerIdCoreAsync(transactionalId, timeoutMs, enable2Pc, keepPreparedTxn, expectedProducerId, expectedProducerEpoch);
        return pending.IsCompleted ? await pending.ConfigureAwait(false) : await pending.AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<InitProducerIdResult> InitProducerIdCoreAsync(string transactionalId, int timeoutMs, bool enable2Pc,
        bool keepPreparedTxn, long expectedProducerId, short expectedProducerEpoch)
    {
        // Released Kafka checks the broker switch first (TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "2PC functionality is
        // disabled"), then answers every keepPreparedTxn with UNSUPPORTED_VERSION because it does not implement it.
        if (enable2Pc && !Config.TwoPhaseCommitEnabled)
        {
            return ResultAsync(new InitProducerIdResult(ErrorCode.TransactionalIdAuthorizationFailed));
        }

        // Lockstep implements keepPreparedTxn (§7.11). Keeping a transaction that is not 2PC makes no sense (it would
        // time out anyway); PR #22704 answers INVALID_REQUEST there and so do we (released Kafka: UNSUPPORTED_VERSION).
        if (keepPreparedTxn && !enable2Pc)
        {
            return ResultAsync(new InitProducerIdResult(ErrorCode.InvalidRequest));
        }

        // TransactionStateManager.validateTransactionTimeoutMs: skipped for 2PC, else 0 < timeout ≤ max.
        if (!enable2Pc && (timeoutMs <= 0 || timeoutMs > Config.TransactionMaxTimeoutMs))
        {
            return ResultAsync(new InitProducerIdResult(ErrorCode.InvalidTransactionTimeout));
        }

        var resolvedTimeoutMs = enable2Pc ? TxnSnapshot.TwoPhaseCommitTimeoutMs : timeoutMs;
        var hasExpected = expectedProducerId != TxnSnapshot.NoProducerId;
        var now = NowMs;
        lock (_lock)
        {
            if (_disposed)
            {
                return ResultAsync(new InitProducerIdResult(ErrorCode.CoordinatorNotAvailable));
            }

            if (!_entries.TryGetValue(transactionalId, out var entry))
            {
                if (!TryNewProducerId(out var newId))
                {
                    return ResultAsync(new InitProducerIdResult(ErrorCode.CoordinatorNotAvailable));
                }

                // Kafka caches the new metadata (epoch −1, Empty) before its first record is written.
                entry = new TransactionEntry(transactionalId, new TxnSnapshot
                {
                    ProducerId = newId,
                    ProducerEpoch = TxnSnapshot.NoProducerEpoch,
                    TimeoutMs = resolvedTimeoutMs,
                    State = TransactionState.Empty,
                    LastUpdateMs = now,
                });
                _entries.Add(transactionalId, entry);
            }

            var md = entry.Current;
            if (entry.Pending is not null)
            {
                return ResultAsync(new InitProducerIdResult(ErrorCode.ConcurrentTransactions));
            }

            // KIP-360: a producer presenting an id we no longer associate with this transactional id is a zombie. A
            // kept transaction's client may present either its own (next) id or the transaction's id.
            if (hasExpected && !(md.ProducerEpoch == TxnSnapshot.NoProducerEpoch
                    || expectedProducerId == md.ProducerId || expectedProducerId == md.ClientProducerId
                    || (expectedProducerId == md.PreviousProducerId && TxnSnapshot.IsEpochExhausted(expectedProducerEpoch))))
            {
                return ResultAsync(new InitProducerIdResult(ErrorCode.ProducerFenced));
            }

            switch (md.State)
            {
                case TransactionState.PrepareCommit or TransactionState.PrepareAbort:
                    // Markers in flight; the client retries (§7.11: every request in Prepare* is CONCURRENT_TRANSACTIONS).
                    return ResultAsync(new InitProducerIdResult(ErrorCode.ConcurrentTransactions));

                case TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort:
                    return InitIdleLockedAsync(entry, md, resolvedTimeoutMs, hasExpected, expectedProducerEpoch, now);

                case TransactionState.Ongoing when keepPreparedTxn:
                    return KeepOngoingLockedAsync(entry, md, resolvedTimeoutMs, now);

                case TransactionState.Ongoing:
                    return FenceAndAbortForInitLockedAsync(entry, md, resolvedTimeoutMs);

                default:
                    throw new InvalidOperationException($"'{transactionalId}' is in {md.State} with no pending transition.");
            }
        }
    }

    /// <summary>Empty/Complete*: bump the epoch (KIP-360 rules) or rotate the producer id when it is exhausted.</summary>
    private ValueTask<InitProducerIdResult> InitIdleLockedAsync(TransactionEntry entry, TxnSnapshot md, int timeoutMs,
        bool hasExpected, short expectedEpoch, long now)
    {
        TxnSnapshot next;
        if (TxnSnapshot.IsEpochExhausted(md.ProducerEpoch) && (!hasExpected || expectedEpoch == md.ProducerEpoch))
        {
            if (!TryNewProducerId(out var newId))
            {
                return ResultAsync(new InitProducerIdResult(ErrorCode.CoordinatorNotAvailable));
            }

            next = md with
            {
                PreviousProducerId = md.ProducerId,
                ProducerId = newId,
                ProducerEpoch = 0,
                LastProducerEpoch = hasExpected ? md.ProducerEpoch : TxnSnapshot.NoProducerEpoch,
            };
        }
        else if (!hasExpected)
        {
            next = md with { ProducerEpoch = (short)(md.ProducerEpoch + 1), LastProducerEpoch = TxnSnapshot.NoProducerEpoch };
        }
        else if (md.ProducerEpoch == TxnSnapshot.NoProducerEpoch || expectedEpoch == md.ProducerEpoch)
        {
            next = md with { ProducerEpoch = (short)(md.ProducerEpoch + 1), LastProducerEpoch = md.ProducerEpoch };
        }
        else if (expectedEpoch == md.LastProducerEpoch)
        {
            next = md; // A retry of a bump whose response was lost: hand out the same epoch again.
        }
        else
        {
            return ResultAsync(new InitProducerIdResult(ErrorCode.ProducerFenced));
        }

        next = next with
        {
            State = TransactionState.Empty,
            TimeoutMs = timeoutMs,
            Partitions = [],
            StartMs = -1,
            LastUpdateMs = now,
            NextProducerId = TxnSnapshot.NoProducerId,
            NextProducerEpoch = TxnSnapshot.NoProducerEpoch,
        };
        var persisted = PersistLockedAsync(entry, next);
        return AwaitInitAsync(persisted, new InitProducerIdResult(ErrorCode.None, next.ProducerId, next.ProducerEpoch));
    }

    /// <summary>
    /// KIP-939 keepPreparedTxn over an ongoing transaction (§7.11, PR #21735 design): the transaction and its
    /// (producer id, epoch) stay as they are — its markers will use them — while the client-facing epoch is bumped
    /// and persisted (<see cref="TxnSnapshot.NextProducerId"/>/<see cref="TxnSnapshot.NextProducerEpoch"/>), so
    /// every earlier incarnation of the producer is fenced from now on. Repeated keeps bump again; an exhausted
    /// client epoch moves the client to a new producer id.
    /// </summary>
    private ValueTask<InitProducerIdResult> KeepOngoingLockedAsync(TransactionEntry entry, TxnSnapshot md, int timeoutMs, long now)
    {
        var clientId = md.ClientProducerId;
        short clientEpoch;
        if (TxnSnapshot.IsEpochExhausted(md.ClientProducerEpoch))
        {
            if (!TryNewProducerId(out clientId))
            {
                return ResultAsync(new InitProducerIdResult(ErrorCode.CoordinatorNotAvailable));
            }

            clientEpoch = 0;
        }
        else
        {
            clientEpoch = (short)(md.ClientProducerEpoch + 1);
        }

        var next = md with
        {
            NextProducerId = clientId,
            NextProducerEpoch = clientEpoch,
            LastProducerEpoch = md.ClientProducerEpoch,
            // The keeping producer declared itself a 2PC participant: from now on the transaction never times out.
            TimeoutMs = timeoutMs,
            LastUpdateMs = now,
        };
        var persisted = PersistLockedAsync(entry, next);
        return AwaitInitAsync(persisted,
            new InitProducerIdResult(ErrorCode.None, clientId, clientEpoch, md.ProducerId, md.ProducerEpoch));
    }

    /// <summary>
    /// InitProducerId over an ongoing transaction without keepPreparedTxn (§7.4 ONGOING): fence the epoch and abort
    /// the transaction (epoch-fence abort with the server's transaction version), then answer
    /// CONCURRENT_TRANSACTIONS; the client retries and finds CompleteAbort. This is also how
    /// <c>kafka-transactions.sh force-terminate</c> (Admin.fenceProducers: InitProducerId with no id/epoch,
    /// Enable2Pc=false) ends a prepared 2PC transaction. Unlike Kafka the answer is sent once the abort is
    /// complete, so the retry succeeds at once.
    /// </summary>
    private ValueTask<InitProducerIdResult> FenceAndAbortForInitLockedAsync(TransactionEntry entry, TxnSnapshot md, int timeoutMs)
    {
        _ = timeoutMs; // Kafka stores the new timeout with the bump the retry performs, not with the abort.
        var completion = BeginFenceAbortLockedAsync(entry, md);
        return AwaitFenceAsync(completion);

        static async ValueTask<InitProducerIdResult> AwaitFenceAsync(Task<EndTxnResult> completion)
        {
            var result = await completion.ConfigureAwait(false);
            return new InitProducerIdResult(result.Error == ErrorCode.None ? ErrorCode.ConcurrentTransactions : result.Error);
        }
    }

    /// <summary>
    /// Coordinator-initiated abort of an ongoing transaction (InitProducerId, the timeout reaper): Kafka's
    /// <c>prepareFenceProducerEpoch</c> + <c>endTransaction(ABORT, isFromClient = false)</c> with the server's
    /// transaction version. The epoch is bumped so the producer that owned the transaction is fenced on the
    /// coordinator and, through the markers, on every partition.
    /// </summary>
    private Task<EndTxnResult> BeginFenceAbortLockedAsync(TransactionEntry entry, TxnSnapshot md)
    {
        var tv2 = ServerTransactionVersion >= 2;
        if (!TryPrepare(md, TransactionState.PrepareAbort, bumpEpoch: true, lastEpochFromBump: tv2, tv: ServerTransactionVersion,
                out var prepare))
        {
            return Task.FromResult(new EndTxnResult(ErrorCode.CoordinatorNotAvailable));
        }

        // The transient PrepareEpochFence state of Kafka (§7.2): visible while the abort record is written.
        entry.Current = md with { State = TransactionState.PrepareEpochFence };
        var persisted = PersistLockedAsync(entry, prepare);
        if (persisted.IsCompleted && persisted.Result != ErrorCode.None)
        {
            entry.Current = md;
            return Task.FromResult(new EndTxnResult(persisted.Result));
        }

        var completion = CompleteAsync(entry, prepare, RevertFenceOnFailureAsync(entry, md, persisted));
        entry.Completion = completion;
        return completion;
    }

    private async Task<ErrorCode> RevertFenceOnFailureAsync(TransactionEntry entry, TxnSnapshot ongoing, Task<ErrorCode> persisted)
    {
        var error = await persisted.ConfigureAwait(false);
        if (error != ErrorCode.None)
        {
            lock (_lock)
            {
                if (entry.Current.State == TransactionState.PrepareEpochFence)
                {
                    entry.Current = ongoing; // The fence never became durable, so its epoch was never handed out.
                }
            }
        }

        return error;
    }

    /// <summary>
    /// AddPartitionsToTxn (client v0-3) and AddOffsetsToTxn (§7.5): adds <paramref name="partitions"/> to the
    /// transaction, starting it if needed; completes when the record is durable.
    /// </summary>
    public async ValueTask<ErrorCode> AddPartitionsAsync(string transactionalId, long producerId, short producerEpoch,
        IReadOnlyCollection<TopicPartition> partitions, short clientTransactionVersion, CancellationToken cancellationToken = default)
    {
        Task<ErrorCode>? persisted;
        ErrorCode error;
        lock (_lock)
        {
            error = AddPartitionsLocked(transactionalId, producerId, producerEpoch, partitions, clientTransactionVersion, out persisted);
        }

        return error != ErrorCode.None || persisted is null
            ? error
            : await persisted.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private ErrorCode AddPartitionsLocked(string transactionalId, long producerId, short producerEpoch,
        IReadOnlyCollection<TopicPartition> partitions, short clientTransactionVersion, out Task<ErrorCode>? persisted)
    {
        persisted = null;
        if (_disposed)
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        if (!_entries.TryGetValue(transactionalId, out var entry))
        {
            return ErrorCode.InvalidProducerIdMapping;
        }

        var md = entry.Current;
        if (entry.Pending is { } pending)
        {
            // Pending first: with TV2 the producer may already use an id that is only pending (Kafka's comment).
            // Exception: adds chain on a pending add, so the partitions of one produce request do not bounce each
            // other with CONCURRENT_TRANSACTIONS (Kafka batches them into one AddPartitionsToTxn instead).
            if (pending.State != TransactionState.Ongoing || md.State is not (TransactionState.Ongoing
                    or TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort))
            {
                return ErrorCode.ConcurrentTransactions;
            }

            md = pending;
        }

        if (producerId != md.ClientProducerId)
        {
            return ErrorCode.InvalidProducerIdMapping;
        }

        if (producerEpoch != md.ClientProducerEpoch)
        {
            return ErrorCode.ProducerFenced;
        }

        if (md.State.IsPrepare() || md.State == TransactionState.PrepareEpochFence)
        {
            return ErrorCode.ConcurrentTransactions;
        }

        if (md.State == TransactionState.Ongoing && md.Partitions.IsSupersetOf(partitions))
        {
            return ErrorCode.None; // Nothing new: no record (Kafka answers at once too).
        }

        if (md.State is not (TransactionState.Ongoing or TransactionState.Empty or TransactionState.CompleteCommit
            or TransactionState.CompleteAbort))
        {
            return ErrorCode.InvalidTxnState;
        }

        var now = NowMs;
        var next = md with
        {
            State = TransactionState.Ongoing,
            Partitions = md.Partitions.Union(partitions),
            StartMs = md.State == TransactionState.Ongoing ? md.StartMs : now,
            LastUpdateMs = now,
            ClientTransactionVersion = clientTransactionVersion,
        };
        persisted = PersistLockedAsync(entry, next);
        return ErrorCode.None;
    }

    /// <inheritdoc />
    public TransactionVerification Verify(
        string transactionalId, long producerId, short producerEpoch, TopicPartition partition, bool addPartition)
    {
        lock (_lock)
        {
            if (addPartition)
            {
                // KIP-890 part 2 (Produce v12+): the produce itself adds the partition, as AddPartitionsToTxn would
                // with the client's transaction version 2.
                var error = AddPartitionsLocked(transactionalId, producerId, producerEpoch, [partition], 2, out var persisted);
                return new TransactionVerification(error, persisted is null ? Task.CompletedTask : FailOnErrorAsync(persisted));
            }

            // KIP-890 part 1 (Produce ≤ v11): verify only (Kafka's handleVerifyPartitionsInTransaction).
            if (!_entries.TryGetValue(transactionalId, out var entry))
            {
                return new TransactionVerification(ErrorCode.InvalidProducerIdMapping, Task.CompletedTask);
            }

            var md = entry.Current;
            var verdict = producerId != md.ClientProducerId ? ErrorCode.InvalidProducerIdMapping
                : producerEpoch != md.ClientProducerEpoch ? ErrorCode.ProducerFenced
                : md.State.IsPrepare() || md.State == TransactionState.PrepareEpochFence || entry.Pending is not null
                    ? ErrorCode.ConcurrentTransactions
                : md.State == TransactionState.Ongoing && md.Partitions.Contains(partition) ? ErrorCode.None
                : ErrorCode.TransactionAbortable;
            return new TransactionVerification(verdict, Task.CompletedTask);
        }

        static async Task FailOnErrorAsync(Task<ErrorCode> persisted)
        {
            var error = await persisted.ConfigureAwait(false);
            if (error != ErrorCode.None)
            {
                throw new IOException($"The transaction coordinator could not persist the implicit add-partition ({error}).");
            }
        }
    }

    /// <summary>
    /// EndTxn (§7.6): the TV0/1 table for request v0-4, the TV2 table for v5 (epoch bump per transaction, new id/epoch
    /// in the result). A transition persists Prepare*, writes the markers and persists Complete* before completing,
    /// so the client's next transaction never meets CONCURRENT_TRANSACTIONS.
    /// </summary>
    public async ValueTask<EndTxnResult> EndTxnAsync(string transactionalId, long producerId, short producerEpoch, bool commit, bool tv2,
        CancellationToken cancellationToken = default)
    {
        var pending = EndTxnCoreAsync(transactionalId, producerId, producerEpoch, commit, tv2);
        return pending.IsCompleted ? await pending.ConfigureAwait(false) : await pending.AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<EndTxnResult> EndTxnCoreAsync(string transactionalId, long producerId, short producerEpoch, bool commit, bool tv2)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return ValueTask.FromResult(new EndTxnResult(ErrorCode.CoordinatorNotAvailable));
            }

            if (!_entries.TryGetValue(transactionalId, out var entry))
            {
                return ValueTask.FromResult(new EndTxnResult(ErrorCode.InvalidProducerIdMapping));
            }

            var md = entry.Current;
            if (entry.Pending is not null || md.State == TransactionState.PrepareEpochFence)
            {
                return ValueTask.FromResult(new EndTxnResult(ErrorCode.ConcurrentTransactions));
            }

            var decision = tv2 ? DecideTv2(md, producerId, producerEpoch, commit) : DecideTv1(md, producerId, producerEpoch, commit);
            if (decision.Target is not { } target)
            {
                return ValueTask.FromResult(decision.Result);
            }

            if (!TryPrepare(md, target, bumpEpoch: tv2, lastEpochFromBump: tv2, tv: (short)(tv2 ? 2 : md.ClientTransactionVersion),
                    out var prepare))
            {
                return ValueTask.FromResult(new EndTxnResult(ErrorCode.CoordinatorNotAvailable));
            }

            var persisted = PersistLockedAsync(entry, prepare);
            var completion = CompleteAsync(entry, prepare, persisted);
            entry.Completion = completion;
            return tv2 ? new ValueTask<EndTxnResult>(completion) : WithoutProducerIdAsync(completion);
        }

        static async ValueTask<EndTxnResult> WithoutProducerIdAsync(Task<EndTxnResult> completion)
        {
            // Before v5 the response carries no id/epoch (the fields default to −1).
            var result = await completion.ConfigureAwait(false);
            return new EndTxnResult(result.Error);
        }
    }

    /// <summary>What EndTxn does: answer now (<see cref="Result"/>) or move to <see cref="Target"/>.</summary>
    private readonly record struct EndTxnDecision(EndTxnResult Result, TransactionState? Target);

    private static EndTxnDecision Answer(ErrorCode error, long producerId = -1, short epoch = -1) =>
        new(new EndTxnResult(error, producerId, epoch), null);

    /// <summary>EndTxn v0-4 (TV0/1), §7.6 first table.</summary>
    private static EndTxnDecision DecideTv1(TxnSnapshot md, long producerId, short producerEpoch, bool commit)
    {
        if (producerId != md.ClientProducerId)
        {
            return Answer(ErrorCode.InvalidProducerIdMapping);
        }

        if (producerEpoch != md.ClientProducerEpoch)
        {
            return Answer(ErrorCode.ProducerFenced);
        }

        return md.State switch
        {
            TransactionState.Ongoing => new(default, commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort),
            TransactionState.PrepareCommit => Answer(commit ? ErrorCode.ConcurrentTransactions : ErrorCode.InvalidTxnState),
            TransactionState.PrepareAbort => Answer(commit ? ErrorCode.InvalidTxnState : ErrorCode.ConcurrentTransactions),
            TransactionState.CompleteCommit => Answer(commit ? ErrorCode.None : ErrorCode.InvalidTxnState),
            TransactionState.CompleteAbort => Answer(commit ? ErrorCode.InvalidTxnState : ErrorCode.None),
            _ => Answer(ErrorCode.InvalidTxnState),
        };
    }

    /// <summary>EndTxn v5 (TV2), §7.6 second table (Kafka's <c>endTransaction</c> TV2 branch).</summary>
    private static EndTxnDecision DecideTv2(TxnSnapshot md, long producerId, short producerEpoch, bool commit)
    {
        var retryOnEpochBump = !md.HasKeptTransaction && md.ProducerEpoch == producerEpoch + 1;
        var retryOnOverflow = md.PreviousProducerId == producerId && producerEpoch == short.MaxValue - 1 && md.ProducerEpoch == 0;
        var isRetry = retryOnEpochBump || retryOnOverflow;
        if (producerId != md.ClientProducerId && !retryOnOverflow)
        {
            return Answer(ErrorCode.InvalidProducerIdMapping);
        }

        var current = producerEpoch == md.ClientProducerEpoch && producerId == md.ClientProducerId;
        var validEpoch = md.State switch
        {
            TransactionState.Ongoing or TransactionState.Empty => current,
            TransactionState.PrepareCommit or TransactionState.PrepareAbort => retryOnEpochBump,
            _ => isRetry || current,
        };
        if (!validEpoch)
        {
            return Answer(ErrorCode.ProducerFenced);
        }

        switch (md.State)
        {
            case TransactionState.Ongoing:
                return new(default, commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort);
            case TransactionState.Empty:
                return commit ? Answer(ErrorCode.InvalidTxnState) : new(default, TransactionState.PrepareAbort);
            case TransactionState.CompleteCommit:
                if (commit)
                {
                    return isRetry ? Answer(ErrorCode.None, md.ProducerId, md.ProducerEpoch) : Answer(ErrorCode.InvalidTxnState);
                }

                return isRetry ? Answer(ErrorCode.InvalidTxnState) : new(default, TransactionState.PrepareAbort);
            case TransactionState.CompleteAbort:
                if (commit)
                {
                    return Answer(ErrorCode.InvalidTxnState);
                }

                return isRetry ? Answer(ErrorCode.None, md.ProducerId, md.ProducerEpoch) : new(default, TransactionState.PrepareAbort);
            case TransactionState.PrepareCommit:
                return Answer(commit ? ErrorCode.ConcurrentTransactions : ErrorCode.InvalidTxnState);
            case TransactionState.PrepareAbort:
                return Answer(commit ? ErrorCode.InvalidTxnState : ErrorCode.ConcurrentTransactions);
            default:
                return Answer(ErrorCode.InvalidTxnState);
        }
    }

    /// <summary>
    /// Builds the Prepare* snapshot (Kafka's <c>prepareAbortOrCommit</c>, generalized for a kept transaction).
    /// Two pairs matter: the transaction's (id, epoch) T, which its batches carry, and the client's C (equal to T
    /// unless the transaction was kept, §7.11). Markers use T's id with an epoch the partitions accept: C's epoch
    /// (bumped by one with TV2, or for a fence) when C and T share the id — C's epoch is ≥ T's — else T's epoch + 1.
    /// After completion the client continues with C, bumped with TV2/fence; an exhausted epoch moves it to a new id
    /// (stored in <see cref="TxnSnapshot.NextProducerId"/> until completion, as Kafka does on TV2 overflow).
    /// Because a kept transaction completes with an epoch above every epoch the client was given, a delayed EndTxn
    /// from an earlier incarnation can never match a later transaction.
    /// </summary>
    private bool TryPrepare(TxnSnapshot md, TransactionState target, bool bumpEpoch, bool lastEpochFromBump, short tv,
        out TxnSnapshot prepare)
    {
        var now = NowMs;
        var transactionId = md.ProducerId;
        var clientId = md.ClientProducerId;
        var clientEpoch = md.ClientProducerEpoch;
        var postId = clientId;
        var postEpoch = clientEpoch;
        if (bumpEpoch)
        {
            if (TxnSnapshot.IsEpochExhausted(clientEpoch))
            {
                if (!TryNewProducerId(out postId))
                {
                    prepare = md;
                    return false;
                }

                postEpoch = 0;
            }
            else
            {
                postEpoch = (short)(clientEpoch + 1);
            }
        }

        var markerEpoch = clientId == transactionId
            ? (bumpEpoch && clientEpoch < short.MaxValue ? (short)(clientEpoch + 1) : clientEpoch)
            : md.ProducerEpoch < short.MaxValue ? (short)(md.ProducerEpoch + 1) : md.ProducerEpoch;
        var rotated = postId != transactionId;
        prepare = md with
        {
            State = target,
            ProducerEpoch = markerEpoch,
            LastProducerEpoch = lastEpochFromBump ? clientEpoch : md.LastProducerEpoch,
            NextProducerId = rotated ? postId : TxnSnapshot.NoProducerId,
            NextProducerEpoch = rotated ? postEpoch : TxnSnapshot.NoProducerEpoch,
            // TV2 may abort without any partition (Empty/Complete* → PrepareAbort): the start time is now then.
            StartMs = md.State == TransactionState.Ongoing ? md.StartMs : now,
            LastUpdateMs = now,
            ClientTransactionVersion = tv,
        };
        return true;
    }

    private bool TryNewProducerId(out long producerId)
    {
        try
        {
            producerId = _producerIds.NextProducerId();
            return true;
        }
        catch (IOException e)
        {
            LogAppendFailed(e, "(producer id block)");
            producerId = TxnSnapshot.NoProducerId;
            return false;
        }
    }

    private static ValueTask<InitProducerIdResult> ResultAsync(InitProducerIdResult result) => ValueTask.FromResult(result);

    private static async ValueTask<InitProducerIdResult> AwaitInitAsync(Task<ErrorCode> persisted, InitProducerIdResult success)
    {
        var error = await persisted.ConfigureAwait(false);
        return error == ErrorCode.None ? success : new InitProducerIdResult(error);
    }
}
