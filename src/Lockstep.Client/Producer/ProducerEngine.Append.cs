using System;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Protocol.Records;

namespace Lockstep.Client.Producer;

/// <summary>The accumulator half: partition choice, buffer reservation and appending into batches.</summary>
internal sealed partial class ProducerEngine
{
    // Per-record overhead beyond key, value and headers in a v2 batch (length, attributes, deltas, counts): at most
    // 21 bytes of varints; Java's DefaultRecord.sizeInBytes upper bound.
    private const int RecordOverheadBytes = 21;

    /// <summary>
    /// Appends a record and returns its delivery task. Waits (in call order) for topic metadata and buffer space,
    /// up to <c>max.block.ms</c>. The returned task is the record's own completion source, so it is already complete
    /// when <see cref="FlushAsync"/> returns (no continuation hop, unlike an async wrapper).
    /// </summary>
    /// <remarks>
    /// The completion source runs continuations asynchronously on purpose: records are completed by the response
    /// handler under the engine's lock, and an application continuation run inline there could block the sender or
    /// wait for a later record of the same batch that the handler has not completed yet (a deadlock). The cost is
    /// one thread-pool item per record that something awaits, and nothing for records nobody awaits yet.
    /// </remarks>
    public Task<DeliveryResult> AppendAsync(ProducerRecord record, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<DeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!TryAppendWithoutWaiting(record, completion, cancellationToken))
        {
            _ = AppendCoreAsync(record, completion, cancellationToken);
        }

        return completion.Task;
    }

    /// <summary>
    /// The fast path (issue 5): when no earlier append is waiting, the topic's metadata is cached and fresh and the
    /// buffer has room, the record is appended synchronously, without the linked token source, max.block.ms timer,
    /// metadata task and async state machine that <see cref="AppendCoreAsync"/> needs to wait. Returns false, having
    /// changed nothing, when any of them would have to wait; failures go into <paramref name="completion"/>.
    /// </summary>
    private bool TryAppendWithoutWaiting(
        ProducerRecord record, TaskCompletionSource<DeliveryResult> completion, CancellationToken cancellationToken)
    {
        // Wait(0) fails while an earlier append holds or waits for the lock (SemaphoreSlim hands a release straight
        // to a queued waiter), so the fast path never overtakes a waiting append: call order is kept.
        if (cancellationToken.IsCancellationRequested || !_appendLock.Wait(0, CancellationToken.None))
        {
            return false;
        }

        try
        {
            var size = CheckedSize(record);
            var topic = _cluster.Metadata.TryGetFresh(record.Topic);
            if (topic is null || !_pool.TryReserve(size))
            {
                return false;
            }

            int partition;
            try
            {
                partition = ChoosePartition(record, topic.Partitions.Count, size);
            }
            catch
            {
                _pool.Release(size);
                throw;
            }

            AppendToBatch(new TopicPartition(record.Topic, partition), record, size, _time.GetTimestamp(), completion);
        }
        catch (Exception ex)
        {
            completion.TrySetException(ex);
        }
        finally
        {
            _appendLock.Release();
        }

        return true;
    }

    /// <summary>Does the append; every failure goes into <paramref name="completion"/>, never out of this task.
    /// </summary>
    private async Task AppendCoreAsync(
        ProducerRecord record, TaskCompletionSource<DeliveryResult> completion, CancellationToken cancellationToken)
    {
        try
        {
            var size = CheckedSize(record);
            var enqueuedAt = _time.GetTimestamp();
            using var maxBlock = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
            maxBlock.CancelAfter(_options.MaxBlock);
            try
            {
                await _appendLock.WaitAsync(maxBlock.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw BlockTimeout("waiting for earlier ProduceAsync calls to be appended");
            }

            try
            {
                var topic = await GetTopicAsync(record.Topic, maxBlock.Token, cancellationToken).ConfigureAwait(false);
                var partition = ChoosePartition(record, topic.Partitions.Count, size);
                try
                {
                    await _pool.ReserveAsync(size, maxBlock.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw BlockTimeout($"waiting for buffer.memory ({_options.BufferMemory} bytes) to free up");
                }

                AppendToBatch(new TopicPartition(record.Topic, partition), record, size, enqueuedAt, completion);
            }
            finally
            {
                _appendLock.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            completion.TrySetCanceled(cancellationToken);
        }
        catch (Exception ex)
        {
            completion.TrySetException(ex);
        }
    }

    private async Task<Internal.TopicMetadata> GetTopicAsync(
        string topic, CancellationToken maxBlock, CancellationToken caller)
    {
        try
        {
            return await _cluster.Metadata.GetTopicAsync(topic, maxBlock).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            throw BlockTimeout($"waiting for metadata of topic '{topic}'");
        }
    }

    private KafkaRetriableException BlockTimeout(string what) =>
        new(ErrorCode.RequestTimedOut,
            $"ProduceAsync gave up after max.block.ms ({_options.MaxBlock.TotalMilliseconds} ms) {what}.");

    /// <summary>The record's size estimate, or MESSAGE_TOO_LARGE if it can never be sent.</summary>
    private int CheckedSize(ProducerRecord record)
    {
        var size = EstimateSize(record);
        if (size > _options.MaxRequestSize)
        {
            throw new KafkaException(ErrorCode.MessageTooLarge,
                $"The record is {size} bytes, more than max.request.size ({_options.MaxRequestSize}).");
        }

        if (size > _options.BufferMemory)
        {
            throw new KafkaException(ErrorCode.MessageTooLarge,
                $"The record is {size} bytes, more than buffer.memory ({_options.BufferMemory}).");
        }

        return size;
    }

    private static int EstimateSize(ProducerRecord record)
    {
        long size = RecordOverheadBytes + (record.Key?.Length ?? 0) + (record.Value?.Length ?? 0);
        if (record.Headers is { } headers)
        {
            foreach (var header in headers)
            {
                size += 10 + System.Text.Encoding.UTF8.GetByteCount(header.Key) + (header.Value?.Length ?? 0);
            }
        }

        return (int)Math.Min(size, int.MaxValue);
    }

    private int ChoosePartition(ProducerRecord record, int partitions, int size)
    {
        if (record.Partition is { } explicitPartition)
        {
            if (explicitPartition < 0 || explicitPartition >= partitions)
            {
                throw new ArgumentOutOfRangeException(nameof(record),
                    $"Partition {explicitPartition} is not in [0, {partitions}) for topic '{record.Topic}'.");
            }

            return explicitPartition;
        }

        if (record.Key is { } key)
        {
            return Partitioner.PartitionForKey(key, partitions);
        }

        // Sticky partitioning for keyless records (KIP-794): switch after batch.size bytes.
        lock (_lock)
        {
            if (!_sticky.TryGetValue(record.Topic, out var sticky) || sticky.Bytes >= _options.BatchSize
                || sticky.Partition >= partitions)
            {
                var next = _random.Next(partitions);
                if (partitions > 1 && _sticky.ContainsKey(record.Topic) && next == sticky.Partition)
                {
                    next = (next + 1) % partitions;
                }

                sticky = (next, 0);
            }

            _sticky[record.Topic] = (sticky.Partition, sticky.Bytes + size);
            return sticky.Partition;
        }
    }

    private void AppendToBatch(TopicPartition partition, ProducerRecord record, int size, long enqueuedAt,
        TaskCompletionSource<DeliveryResult> completion)
    {
        var timestamp = record.Timestamp ?? _time.GetUtcNow().ToUnixTimeMilliseconds();
        var wake = false;
        lock (_lock)
        {
            if (_fatal is not null || _closing)
            {
                _pool.Release(size);
                throw _fatal as Exception ?? new ObjectDisposedException(nameof(KafkaProducer));
            }

            if (!_partitions.TryGetValue(partition, out var part))
            {
                part = new PartitionState(partition);
                _partitions[partition] = part;
            }

            var last = part.Queue.Last?.Value;
            if (last is null || last.Closed || last.SizeInBytes + size > _options.BatchSize)
            {
                // Wake the loop so it learns this batch's linger deadline.
                wake = true;
                last = new ProducerBatch(partition, new RecordBatchBuilder(_options.CompressionType, _codecs),
                    _time.GetTimestamp());
                part.Queue.AddLast(last);
                _incomplete.Add(last);
            }

            last.Add(timestamp, record.Key, record.Value, record.Headers, completion, enqueuedAt);
            last.ReservedBytes += size;
            wake |= last.SizeInBytes >= _options.BatchSize || _options.Linger == TimeSpan.Zero;
        }

        if (wake)
        {
            Signal();
        }
    }
}
