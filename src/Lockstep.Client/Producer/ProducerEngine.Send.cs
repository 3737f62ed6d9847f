using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Client.Internal;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Client.Producer;

/// <summary>The sender half: the loop, draining, Produce requests and response handling.</summary>
internal sealed partial class ProducerEngine
{
    // Send ordering per broker node (see SendProduceAsync): the task of the last send to each node that has not yet
    // queued its request on the connection. Guarded by _sendOrderLock.
    private readonly Lock _sendOrderLock = new();
    private readonly Dictionary<int, Task> _lastSendQueued = [];

    // Batches acknowledged inside SendProduceAsync's locked response loop, whose records it completes after
    // releasing the lock. Guarded by _lock.
    private readonly List<(ProducerBatch Batch, long BaseOffset, long LogAppendTime)> _succeeded = [];

    // Produce v13 identifies topics by id only (KIP-516); v12 is the last version with names and the TV2 marker.
    private const short ProduceMaxVersion = 12;

    // ProduceRequest.LAST_STABLE_VERSION_BEFORE_TRANSACTION_V2: a TV1 transactional producer must not send v12,
    // which the broker reads as "add the partition implicitly" (KIP-890).
    private const short ProduceMaxVersionTv1 = 11;

    private async Task RunAsync()
    {
        await Task.Yield();
        var initAttempt = 0;
        while (true)
        {
            Task signal;
            TimeSpan wait;
            lock (_lock)
            {
                if (_closing && _incomplete.Count == 0 && _totalInFlight == 0)
                {
                    return;
                }

                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                if (_signal.Task.IsCompleted)
                {
                    _signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                signal = _signal.Task;
            }

            try
            {
                await EnsureIdentityAsync().ConfigureAwait(false);
                initAttempt = 0;
                wait = DrainAndSend();
            }
            catch (KafkaRetriableException)
            {
                wait = _cluster.Backoff(initAttempt++);
            }
            catch (KafkaException ex)
            {
                SetFatal(ex);
                wait = Timeout.InfiniteTimeSpan;
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                if (wait == Timeout.InfiniteTimeSpan)
                {
                    await signal.WaitAsync(_stop.Token).ConfigureAwait(false);
                }
                else if (wait > TimeSpan.Zero)
                {
                    await Task.WhenAny(signal, Task.Delay(wait, _time, _stop.Token)).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Idempotent (non-transactional) producers get their id lazily, and bump the epoch when asked to (KIP-360),
    /// once nothing is in flight. Transactional producers get both from the TransactionManager.
    /// </summary>
    private async Task EnsureIdentityAsync()
    {
        if (!Idempotent || Transactions is not null)
        {
            return;
        }

        long producerId;
        short epoch;
        lock (_lock)
        {
            var needed = !_identityReady || (_bumpRequested && _totalInFlight == 0);
            if (!needed || _fatal is not null || (_incomplete.Count == 0 && !_bumpRequested))
            {
                return;
            }

            (producerId, epoch) = (_producerId, _producerEpoch);
        }

        var connection = await _cluster.GetAnyConnectionAsync(_stop.Token).ConfigureAwait(false);
        var version = KafkaCluster.NegotiateVersion<InitProducerIdRequest, InitProducerIdResponse>(connection);
        var request = new InitProducerIdRequest { TransactionalId = null, TransactionTimeoutMs = int.MaxValue };
        if (version >= 3 && producerId >= 0)
        {
            // KIP-360: bump our own epoch instead of taking a new id, so the broker can fence in-flight zombies.
            request.ProducerId = producerId;
            request.ProducerEpoch = epoch;
        }

        var response = (await connection.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(
            request, version, expectResponse: true, _stop.Token).ConfigureAwait(false))!;
        var error = (ErrorCode)response.ErrorCode;
        if (error is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch && request.ProducerId >= 0)
        {
            // The bump may already have happened on the broker with its response lost; then our epoch is stale. A
            // non-transactional producer has no identity to protect, so take a fresh producer id (what Kafka's
            // broker hands idempotent producers anyway).
            request.ProducerId = -1;
            request.ProducerEpoch = -1;
            response = (await connection.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(
                request, version, expectResponse: true, _stop.Token).ConfigureAwait(false))!;
            error = (ErrorCode)response.ErrorCode;
        }

        if (error != ErrorCode.None)
        {
            throw KafkaException.FromErrorCode(error, "InitProducerId for the idempotent producer");
        }

        lock (_lock)
        {
            var bump = _identityReady;
            _producerId = response.ProducerId;
            _producerEpoch = response.ProducerEpoch;
            _identityReady = true;
            _bumpRequested = false;
            if (bump)
            {
                RewriteSequencesLocked();
            }
            else
            {
                ResetSequencesLocked();
            }
        }
    }

    /// <summary>Sends every ready batch; returns how long to sleep before the next linger/retry deadline.</summary>
    private TimeSpan DrainAndSend()
    {
        var now = _time.GetTimestamp();
        var nextWake = Timeout.InfiniteTimeSpan;
        // Allocated only when something is sent: most wake-ups (linger checks, signals) send nothing.
        Dictionary<int, List<ProducerBatch>>? requests = null;
        var transactions = Transactions;
        var needMetadata = false;
        lock (_lock)
        {
            if (_fatal is not null)
            {
                return Timeout.InfiniteTimeSpan;
            }

            var canSequence = !Idempotent || (_identityReady && !_bumpRequested);
            if (Idempotent && Transactions is null)
            {
                MaybeResolveSequencesLocked();
                canSequence &= !_bumpRequested;
            }

            foreach (var part in _partitions.Values)
            {
                if (part.Queue.First?.Value is not { } head)
                {
                    continue;
                }

                if (ExpireLocked(part, head, now))
                {
                    nextWake = TimeSpan.Zero;
                    continue;
                }

                // Ready: full, followed by another batch, lingered long enough, flushing/closing, or a due retry.
                TimeSpan until;
                if (head.Closed)
                {
                    until = _time.GetElapsedTime(now, head.RetryAt);
                }
                else if (part.Queue.Count > 1 || head.SizeInBytes >= _options.BatchSize || _flushers > 0 || _closing)
                {
                    until = TimeSpan.Zero;
                }
                else
                {
                    until = _options.Linger - _time.GetElapsedTime(head.CreatedAt, now);
                }

                if (until > TimeSpan.Zero)
                {
                    nextWake = Min(nextWake, until);
                    continue;
                }

                if (!canSequence || (part.Retrying && part.InFlight > 0))
                {
                    continue;
                }

                if (Idempotent && head.BaseSequence < 0)
                {
                    if (part.ProducerId != _producerId || part.ProducerEpoch != _producerEpoch)
                    {
                        if (part.HasSequencedBatches)
                        {
                            // Java's RecordAccumulator.shouldStopDrainBatchesForPartition: no new batch while batches
                            // of the previous epoch are unresolved, or sequence 0 of the new epoch could land first.
                            continue;
                        }

                        // TransactionManager.maybeUpdateProducerIdAndEpoch: the old epoch's batches are done.
                        StartSequencesAtBeginningLocked(part);
                    }

                    if (part.UnresolvedNextSequence is not null)
                    {
                        // Don't sequence new batches while an earlier range's fate is unknown (same Java method).
                        continue;
                    }
                }

                if (Idempotent && part.InFlight >= _options.MaxInFlightRequestsPerConnection)
                {
                    continue;
                }

                if (transactions is not null && !transactions.CanSendTo(part.Partition))
                {
                    continue;
                }

                var leader = LeaderOf(part.Partition);
                if (leader < 0)
                {
                    needMetadata = true;
                    nextWake = Min(nextWake, _options.RetryBackoff);
                    continue;
                }

                var inFlight = _nodeInFlight.GetValueOrDefault(leader);
                if (inFlight >= _options.MaxInFlightRequestsPerConnection && requests?.ContainsKey(leader) != true)
                {
                    continue;
                }

                part.Queue.RemoveFirst();
                head.Closed = true;
                head.InFlight = true;
                part.InFlightBatches.Add(head);
                if (Idempotent && head.BaseSequence < 0)
                {
                    head.ProducerId = part.ProducerId;
                    head.ProducerEpoch = part.ProducerEpoch;
                    head.BaseSequence = part.NextSequence;
                    part.NextSequence = unchecked(part.NextSequence + head.Count) & int.MaxValue;
                }

                requests ??= [];
                if (!requests.TryGetValue(leader, out var list))
                {
                    requests[leader] = list = [];
                }

                list.Add(head);

                // Another batch of this partition may follow in the next request (pipelining, ≤ max.in.flight).
                if (part.Queue.Count > 0)
                {
                    nextWake = TimeSpan.Zero;
                }
            }

            if (requests is not null)
            {
                foreach (var node in requests.Keys)
                {
                    _nodeInFlight[node] = _nodeInFlight.GetValueOrDefault(node) + 1;
                    if (_totalInFlight++ == 0)
                    {
                        _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                }
            }
        }

        if (needMetadata)
        {
            RefreshMetadataInBackground();
        }

        if (requests is not null)
        {
            foreach (var (node, batches) in requests)
            {
                _ = SendProduceAsync(node, batches);
            }
        }

        return nextWake;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) =>
        a == Timeout.InfiniteTimeSpan ? b : b == Timeout.InfiniteTimeSpan ? a : a < b ? a : b;

    private int LeaderOf(TopicPartition partition)
    {
        var topic = _cluster.Metadata.TryGetCached(partition.Topic);
        return topic is not null && partition.Partition < topic.Partitions.Count
            ? topic.Partitions[partition.Partition].LeaderId
            : -1;
    }

    private void RefreshMetadataInBackground()
    {
        lock (_lock)
        {
            if (_metadataRefresh is { IsCompleted: false })
            {
                return;
            }

            _metadataRefresh = RefreshMetadataAsync();
        }
    }

    private async Task RefreshMetadataAsync()
    {
        try
        {
            _cluster.Metadata.RequestUpdate();
            await _cluster.Metadata.RefreshAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        Signal();
    }

    /// <summary>Fails the head batch if <c>delivery.timeout.ms</c> has passed since it was created.</summary>
    private bool ExpireLocked(PartitionState part, ProducerBatch head, long now)
    {
        if (head.InFlight || _time.GetElapsedTime(head.CreatedAt, now) < _options.DeliveryTimeout)
        {
            return false;
        }

        part.Queue.RemoveFirst();
        var error = new KafkaRetriableException(ErrorCode.RequestTimedOut,
            $"Expiring {head.Count} record(s) for {head.Partition}: delivery.timeout.ms " +
            $"({_options.DeliveryTimeout.TotalMilliseconds} ms) has passed since the batch was created " +
            $"(attempts {head.Attempts}, partition in flight {part.InFlight}, retrying {part.Retrying}, " +
            $"requests in flight {_totalInFlight}, epoch bump pending {_bumpRequested}, last error: {head.LastError}).");
        OnSequenceGapLocked(head, error);
        FinishLocked(head, error);
        return true;
    }

    /// <summary>
    /// A batch that carried a sequence failed for good. Transactional producers must abort (the abort resets the
    /// sequences). For an idempotent producer the batch may or may not be in the log (an earlier attempt's answer may
    /// have been lost), so the partition's sequence is marked unresolved (Java: <c>Sender.failBatch</c> →
    /// <c>TransactionManager.markSequenceUnresolved</c>): <see cref="MaybeResolveSequencesLocked"/> decides once the
    /// partition's other batches are done whether there is a gap that needs the KIP-360 epoch bump.
    /// </summary>
    private void OnSequenceGapLocked(ProducerBatch batch, Exception error)
    {
        if (!Idempotent || batch.BaseSequence < 0)
        {
            return;
        }

        if (Transactions is { } transactions)
        {
            transactions.OnAbortableError(error, sequenceGap: true);
            return;
        }

        var part = _partitions[batch.Partition];
        if (batch.ProducerId != part.ProducerId || batch.ProducerEpoch != part.ProducerEpoch)
        {
            return;
        }

        var next = unchecked(batch.BaseSequence + batch.Count) & int.MaxValue;
        part.UnresolvedNextSequence = part.UnresolvedNextSequence is { } current && current > next ? current : next;
    }

    /// <summary>
    /// Java's <c>TransactionManager.maybeResolveSequences</c>: once an unresolved partition has nothing sequenced left,
    /// it is resolved if the broker acknowledged everything up to its next sequence (the failed range was in the log
    /// after all, since the broker appends in sequence order); otherwise there is a real gap and the epoch is bumped.
    /// </summary>
    private void MaybeResolveSequencesLocked()
    {
        foreach (var part in _partitions.Values)
        {
            if (part.UnresolvedNextSequence is null || part.HasSequencedBatches)
            {
                continue;
            }

            var acked = part.LastAckedSequence;
            if ((acked < 0 ? 0 : unchecked(acked + 1) & int.MaxValue) != part.NextSequence)
            {
                RequestEpochBumpLocked(part);
            }

            part.UnresolvedNextSequence = null;
        }
    }

    /// <summary>Java's <c>requestIdempotentEpochBumpForPartition</c>: bump once nothing is in flight, and rewrite
    /// this partition's sequences then (<see cref="RewriteSequencesLocked"/>).</summary>
    private void RequestEpochBumpLocked(PartitionState part)
    {
        _bumpRequested = true;
        _partitionsToRewrite.Add(part);
    }

    private async Task SendProduceAsync(int nodeId, List<ProducerBatch> batches)
    {
        // Requests to one broker must reach its connection in drain order: two batches of a partition travel in
        // consecutive requests, and the broker accepts any first sequence from a new producer id (KIP-360), so a
        // reordered pair would be appended out of order. This prefix runs synchronously in drain order; each send
        // waits until the previous send to the node has queued its write on the connection.
        var queued = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task previous;
        lock (_sendOrderLock)
        {
            previous = _lastSendQueued.GetValueOrDefault(nodeId, Task.CompletedTask);
            _lastSendQueued[nodeId] = queued.Task;
        }

        await Task.Yield();
        ProduceResponse? response = null;
        KafkaException? failure = null;
        var acks = _options.Acks;
        try
        {
            await previous.ConfigureAwait(false);
            var connection = await _cluster.GetConnectionAsync(nodeId, _stop.Token).ConfigureAwait(false);
            lock (_lock)
            {
                // An earlier batch of the same partition is not ahead of this one on this connection: it went out
                // on a connection that has since died (fate unknown until its failure is processed), or its failure
                // was processed already and it is back in the queue for a retry. Writing this one now could put it in
                // the log first (a producer new to the broker may start at any sequence), so don't write it: fail it
                // retriably (nothing was sent) and it goes back to the queue behind the earlier batch.
                foreach (var batch in batches)
                {
                    if (batch.BaseSequence >= 0 && HasPredecessorOffConnectionLocked(_partitions[batch.Partition], batch, connection))
                    {
                        throw new KafkaRetriableException(ErrorCode.NetworkException,
                            $"An earlier batch of {batch.Partition} is not ahead of this one on the connection (lost with an " +
                            "earlier connection, or waiting for its retry).");
                    }
                }

                foreach (var batch in batches)
                {
                    batch.SentOn = connection;
                }
            }

            var transactional = Transactions is not null;
            var maxVersion = transactional && !Transactions!.IsTransactionV2 ? ProduceMaxVersionTv1 : ProduceMaxVersion;
            var version = KafkaCluster.NegotiateVersion<ProduceRequest, ProduceResponse>(connection, maxVersion);
            var request = new ProduceRequest
            {
                TransactionalId = _options.TransactionalId,
                Acks = (short)acks,
                TimeoutMs = (int)Math.Min(_options.RequestTimeout.TotalMilliseconds, int.MaxValue),
            };
            foreach (var group in batches.GroupBy(b => b.Partition.Topic))
            {
                var topic = new ProduceRequest.TopicProduceData { Name = group.Key };
                foreach (var batch in group)
                {
                    topic.PartitionData.Add(new ProduceRequest.PartitionProduceData
                    {
                        Index = batch.Partition.Partition,
                        Records = batch.Encode(transactional),
                    });
                }

                request.TopicData.Add(topic);
            }

            _diagnostics.BatchesSent.Add(batches.Count);
            Transactions?.OnBatchesSent();
            // SendAsync joins the connection's FIFO write queue synchronously, so the next send may go once the call
            // has returned its task.
            var sending = connection.SendAsync<ProduceRequest, ProduceResponse>(
                request, version, expectResponse: acks != Acks.None, _stop.Token);
            queued.TrySetResult();
            response = await sending.ConfigureAwait(false);
        }
        catch (KafkaException ex)
        {
            failure = ex;
            _cluster.Metadata.RequestUpdate();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            failure = new KafkaException(ErrorCode.UnknownServerError, "The producer was closed before the send completed.");
        }
        catch (Exception ex)
        {
            // Anything else (a transport quirk) is treated as a lost connection: the batches are retried, and the
            // in-flight counters below are always released, or the partition would stall.
            failure = new KafkaRetriableException(ErrorCode.NetworkException, $"Produce to broker {nodeId} failed: {ex.Message}", ex);
            _cluster.Metadata.RequestUpdate();
        }

        queued.TrySetResult();
        (ProducerBatch Batch, long BaseOffset, long LogAppendTime)[]? succeeded = null;
        TaskCompletionSource? idle = null;
        lock (_lock)
        {
            _nodeInFlight[nodeId]--;
            if (--_totalInFlight == 0)
            {
                // Signalled after the completions below, so WaitForNoInFlightAsync (used before EndTxn) still means
                // "every answered record is complete". This instance is replaced only when the count leaves 0 again.
                idle = _idle;
            }

            foreach (var batch in batches)
            {
                var part = _partitions[batch.Partition];
                part.InFlightBatches.Remove(batch);
                batch.InFlight = false;
                if (failure is not null)
                {
                    HandleErrorLocked(part, batch, failure.ErrorCode, failure);
                    continue;
                }

                if (response is null)
                {
                    // acks=0: no response, no offsets (Java reports -1).
                    SucceedLocked(part, batch, -1, -1);
                    continue;
                }

                var result = response.Responses.FirstOrDefault(t => t.Name == batch.Partition.Topic)?
                    .PartitionResponses.FirstOrDefault(p => p.Index == batch.Partition.Partition);
                if (result is null)
                {
                    HandleErrorLocked(part, batch, ErrorCode.UnknownServerError, null);
                    continue;
                }

                var error = (ErrorCode)result.ErrorCode;
                if (error is ErrorCode.None)
                {
                    SucceedLocked(part, batch, result.BaseOffset, result.LogAppendTimeMs);
                }
                else if (error is ErrorCode.DuplicateSequenceNumber)
                {
                    // The broker already has this range (a retry of an appended batch); Java treats it as success.
                    SucceedLocked(part, batch, result.BaseOffset, result.LogAppendTimeMs);
                }
                else
                {
                    HandleErrorLocked(part, batch, error, null, result.ErrorMessage);
                }
            }

            _signal.TrySetResult();
            if (_succeeded.Count > 0)
            {
                succeeded = [.. _succeeded];
                _succeeded.Clear();
            }
        }

        // Outside the lock: with ~1,000 records per batch, completing them under it held back every concurrent
        // ProduceAsync (AppendToBatch takes the same lock) for the whole loop.
        if (succeeded is not null)
        {
            foreach (var (batch, baseOffset, logAppendTime) in succeeded)
            {
                batch.Succeed(baseOffset, logAppendTime, _diagnostics.ProduceLatency, _time);
            }
        }

        idle?.TrySetResult();
    }

    private void SucceedLocked(PartitionState part, ProducerBatch batch, long baseOffset, long logAppendTime)
    {
        if (part.InFlight == 0)
        {
            part.Retrying = false;
        }

        if (batch.BaseSequence >= 0 && batch.ProducerId == part.ProducerId && batch.ProducerEpoch == part.ProducerEpoch)
        {
            part.LastAckedSequence = Math.Max(part.LastAckedSequence, batch.BaseSequence + batch.Count - 1);
        }

        _diagnostics.RecordsSent.Add(batch.Count);
        // Completed by SendProduceAsync once it has released the lock (every caller runs inside its response loop).
        _succeeded.Add((batch, baseOffset, logAppendTime));
        RemoveLocked(batch);
    }

    private void FinishLocked(ProducerBatch batch, Exception error)
    {
        batch.Fail(error);
        RemoveLocked(batch);
    }

    private void RemoveLocked(ProducerBatch batch)
    {
        if (_incomplete.Remove(batch))
        {
            _pool.Release(batch.ReservedBytes);
            batch.Dispose();
        }
    }

    private void HandleErrorLocked(
        PartitionState part, ProducerBatch batch, ErrorCode error, Exception? cause, string? message = null)
    {
        var context = $"Produce to {batch.Partition}" + (message is null ? string.Empty : $" ({message})");
        if (error is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch)
        {
            var fenced = new ProducerFencedException(error,
                $"{context}: {error.KafkaName()}. Another producer instance with a newer epoch owns this producer id; " +
                "dispose this producer.", cause);
            Transactions?.OnFatalError(fenced);
            FinishLocked(batch, fenced);
            _fatal ??= fenced;
            FailQueuedLocked(fenced);
            return;
        }

        if (_aborting)
        {
            FinishLocked(batch, new TransactionAbortableException(error, $"{context}: the transaction is being aborted."));
            return;
        }

        var retriable = error.IsRetriable() || cause is KafkaRetriableException;
        var sequenceReset = error is ErrorCode.OutOfOrderSequenceNumber or ErrorCode.UnknownProducerId;
        if (sequenceReset && Idempotent && batch.BaseSequence >= 0 && batch.ProducerId == part.ProducerId
            && batch.ProducerEpoch == part.ProducerEpoch && batch.BaseSequence + batch.Count - 1 <= part.LastAckedSequence)
        {
            // A later batch was acknowledged, so this one is in the log (the broker only appends in sequence order);
            // its retry fell out of the broker's 5-batch duplicate window and came back OUT_OF_ORDER. It succeeded,
            // but its offset is unknown (-1), as for a DUPLICATE_SEQUENCE_NUMBER answer from older brokers.
            SucceedLocked(part, batch, -1, -1);
            return;
        }

        if (sequenceReset && Idempotent)
        {
            if (Transactions is null && part.UnresolvedNextSequence is { } unresolvedNext)
            {
                // TransactionManager.canRetry: with an unresolved range, only the batch right after it proves the
                // gap (bump now); any other batch waits for the range to resolve.
                if (batch.BaseSequence == unresolvedNext)
                {
                    Log.EpochBump(_logger, _producerId, error, batch.Partition);
                    RequestEpochBumpLocked(part);
                }

                retriable = true;
            }
            else if (HasEarlierSequenceLocked(part, batch))
            {
                // A predecessor failed and is being re-sent: this batch hit the gap it left. Re-send in order.
                retriable = true;
            }
            else if (Transactions is null)
            {
                // KIP-360: the broker lost or rejected our sequence state; bump the epoch and re-send this partition
                // from 0 (RewriteSequencesLocked says why that is safe for this partition only).
                Log.EpochBump(_logger, _producerId, error, batch.Partition);
                RequestEpochBumpLocked(part);
                retriable = true;
            }
        }

        if (retriable && _fatal is null)
        {
            if (error is ErrorCode.NotLeaderOrFollower or ErrorCode.UnknownTopicOrPartition
                or ErrorCode.LeaderNotAvailable or ErrorCode.NetworkException or ErrorCode.NotEnoughReplicas
                or ErrorCode.FencedLeaderEpoch or ErrorCode.UnknownLeaderEpoch)
            {
                _cluster.Metadata.RequestUpdate();
                RefreshMetadataInBackground();
            }

            if (_time.GetElapsedTime(batch.CreatedAt) >= _options.DeliveryTimeout)
            {
                var timeout = new KafkaRetriableException(error,
                    $"{context}: {error.KafkaName()}; delivery.timeout.ms ({_options.DeliveryTimeout.TotalMilliseconds} ms) " +
                    "passed before a retry succeeded.", cause);
                OnSequenceGapLocked(batch, timeout);
                FinishLocked(batch, timeout);
                return;
            }

            batch.LastError = cause?.Message ?? error.KafkaName();
            Requeue(part, batch);
            Log.ProduceRetry(_logger, batch.Partition, error, batch.BaseSequence);
            return;
        }

        var failure = error is ErrorCode.TransactionAbortable || (Transactions is not null && sequenceReset)
            ? new TransactionAbortableException(error, $"{context}: {error.KafkaName()}.", cause)
            : KafkaException.FromErrorCode(error, context);
        OnSequenceGapLocked(batch, failure);
        if (Transactions is not null)
        {
            Transactions.OnAbortableError(failure, sequenceGap: batch.BaseSequence >= 0);
        }

        FinishLocked(batch, failure);
    }

    /// <summary>
    /// True when a batch with a lower sequence is unresolved (queued for retry or still in flight — its failure may
    /// simply not have been processed yet). Then an OUT_OF_ORDER_SEQUENCE for this batch is the gap that batch left,
    /// not lost producer state (Java: <c>TransactionManager.canRetry / hasUnresolvedSequence</c>).
    /// </summary>
    private static bool HasEarlierSequenceLocked(PartitionState part, ProducerBatch batch) =>
        part.Queue.Any(b => b.BaseSequence >= 0 && b.BaseSequence < batch.BaseSequence)
        || part.InFlightBatches.Any(b => b.BaseSequence >= 0 && b.BaseSequence < batch.BaseSequence);

    /// <summary>
    /// True when a batch with a lower sequence is not ahead of <paramref name="batch"/> on
    /// <paramref name="connection"/>: back in the queue, or written to another connection. Java needs no such check:
    /// its Sender drains only for a ready connection and writes the request to it in the same step, and a
    /// disconnect fails every request on the connection before the next drain (<c>NetworkClient</c>,
    /// <c>RecordAccumulator.drain</c>). Here draining and connecting are separate steps, so an earlier batch's failure
    /// can be processed in between.
    /// </summary>
    private static bool HasPredecessorOffConnectionLocked(PartitionState part, ProducerBatch batch, BrokerConnection connection) =>
        part.Queue.Any(other => other.BaseSequence >= 0 && other.BaseSequence < batch.BaseSequence)
        || part.InFlightBatches.Any(other => other.BaseSequence >= 0 && other.BaseSequence < batch.BaseSequence
            && other.SentOn is not null && !ReferenceEquals(other.SentOn, connection));

    /// <summary>Puts a failed batch back in sequence order and switches the partition to one-at-a-time sends.</summary>
    private void Requeue(PartitionState part, ProducerBatch batch)
    {
        batch.Attempts++;
        batch.RetryAt = _time.GetTimestamp()
            + (long)(_cluster.Backoff(batch.Attempts - 1).TotalSeconds * _time.TimestampFrequency);
        _diagnostics.Retries.Add(1);
        part.Retrying = true;
        var node = part.Queue.First;
        while (node is not null && node.Value.Closed && node.Value.BaseSequence >= 0
            && (batch.BaseSequence < 0 || node.Value.BaseSequence < batch.BaseSequence))
        {
            node = node.Next;
        }

        if (node is null)
        {
            part.Queue.AddLast(batch);
        }
        else
        {
            part.Queue.AddBefore(node, batch);
        }
    }
}
