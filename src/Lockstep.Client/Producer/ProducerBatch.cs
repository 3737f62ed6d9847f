using System;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Threading.Tasks;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Client.Producer;

/// <summary>
/// Records for one partition, sent together as one record batch (Java's <c>ProducerBatch</c>). Records are encoded
/// into the builder as they are appended; producer id, epoch and base sequence are stamped when the batch is first
/// drained, and again only by an epoch bump that rewrites its partition (see <c>ProducerEngine.RewriteSequencesLocked</c>),
/// so a retry re-sends exactly the same id, epoch and sequence range (KIP-98 dedup).
/// </summary>
/// <remarks>Owned by the accumulator: every field is guarded by the accumulator's lock.</remarks>
internal sealed class ProducerBatch : IDisposable
{
    private readonly List<PendingRecord> _records = [];

    // The last encoding (see Encode) and the header fields it was encoded with.
    private PooledBufferWriter? _encoded;
    private long _encodedProducerId;
    private short _encodedEpoch;
    private int _encodedSequence;
    private bool _encodedTransactional;

    public ProducerBatch(TopicPartition partition, RecordBatchBuilder builder, long createdAt)
    {
        Partition = partition;
        Builder = builder;
        CreatedAt = createdAt;
    }

    public TopicPartition Partition { get; }

    public RecordBatchBuilder Builder { get; }

    /// <summary>Timestamp (TimeProvider ticks) of the first append: linger and delivery timeout count from it.</summary>
    public long CreatedAt { get; }

    public int Count => _records.Count;

    /// <summary>Approximate wire size: the 61-byte batch header plus the uncompressed records.</summary>
    public int SizeInBytes => RecordBatchHeader.Size + Builder.RecordsSizeInBytes;

    /// <summary>Bytes reserved from the buffer pool, released on completion.</summary>
    public long ReservedBytes { get; set; }

    /// <summary>True once drained at least once: no more appends (the sequence range is fixed).</summary>
    public bool Closed { get; set; }

    /// <summary>Base sequence assigned at drain, or -1 while unassigned (never sent, or reset by an epoch bump).
    /// </summary>
    public int BaseSequence { get; set; } = RecordBatchHeader.NoSequence;

    public long ProducerId { get; set; } = RecordBatchHeader.NoProducerId;

    public short ProducerEpoch { get; set; } = -1;

    public int Attempts { get; set; }

    /// <summary>Earliest time (ticks) of the next attempt after a retriable failure.</summary>
    public long RetryAt { get; set; }

    public bool InFlight { get; set; }

    /// <summary>The connection the current attempt was written to (null until written).</summary>
    public Internal.BrokerConnection? SentOn { get; set; }

    /// <summary>Why the last attempt failed (reported when the batch finally expires).</summary>
    public string? LastError { get; set; }

    /// <summary>Completes when the batch is done, successfully or not (FlushAsync awaits it).</summary>
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Add(long timestamp, byte[]? key, byte[]? value, IReadOnlyList<RecordHeader>? headers,
        TaskCompletionSource<DeliveryResult> completion, long enqueuedAt)
    {
        var headerSpan = headers switch
        {
            null => ReadOnlySpan<RecordHeader>.Empty,
            RecordHeader[] array => array,
            List<RecordHeader> list => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list),
            _ => [.. headers],
        };
        Builder.Append(timestamp, key, key is null, value, value is null, headerSpan);
        _records.Add(new PendingRecord(timestamp, completion, enqueuedAt));
    }

    /// <summary>
    /// The encoded batch with the current id, epoch and sequence, in pooled memory owned by this batch. Encoded once
    /// and reused by retries: a retry re-sends the same bytes (KIP-98 dedup needs the same id, epoch and sequence
    /// anyway), and only an epoch bump that re-stamps the batch (<c>RewriteSequencesLocked</c>) or a change of the
    /// transactional flag makes it encode again. Before issue 5 this was <c>Builder.ToArray()</c> per attempt: with
    /// batch.size 1 MB, a large-object-heap array per request and most of the producer's gen2 collections.
    /// </summary>
    /// <remarks>The memory stays valid until <see cref="Dispose"/>, which the engine calls only once the batch is
    /// done; a batch is never done while a request carrying it is being written (it is in flight until its send
    /// returns), so the connection never reads returned memory.</remarks>
    public ReadOnlyMemory<byte> Encode(bool transactional)
    {
        if (_encoded is not null && _encodedProducerId == ProducerId && _encodedEpoch == ProducerEpoch
            && _encodedSequence == BaseSequence && _encodedTransactional == transactional)
        {
            return _encoded.WrittenMemory;
        }

        Builder.ProducerId = ProducerId;
        Builder.ProducerEpoch = ProducerEpoch;
        Builder.BaseSequence = BaseSequence;
        Builder.IsTransactional = transactional;
        _encoded ??= new PooledBufferWriter(RecordBatchHeader.Size + Builder.RecordsSizeInBytes);
        _encoded.Clear();
        Builder.WriteTo(_encoded);
        (_encodedProducerId, _encodedEpoch, _encodedSequence, _encodedTransactional) =
            (ProducerId, ProducerEpoch, BaseSequence, transactional);
        return _encoded.WrittenMemory;
    }

    /// <summary>Completes every record: offsets are consecutive from <paramref name="baseOffset"/>.</summary>
    public void Succeed(long baseOffset, long logAppendTime, Histogram<double> latencyMs, TimeProvider time)
    {
        // Skip the per-record clock reads when nothing listens to the histogram.
        var measure = latencyMs.Enabled;
        for (var i = 0; i < _records.Count; i++)
        {
            var record = _records[i];
            var offset = baseOffset < 0 ? -1 : baseOffset + i;
            var timestamp = logAppendTime >= 0 ? logAppendTime : record.Timestamp;
            if (measure)
            {
                latencyMs.Record(time.GetElapsedTime(record.EnqueuedAt).TotalMilliseconds);
            }

            record.Completion.TrySetResult(new DeliveryResult(Partition.Topic, Partition.Partition, offset, timestamp));
        }

        Done.TrySetResult();
    }

    public void Fail(Exception error)
    {
        foreach (var record in _records)
        {
            record.Completion.TrySetException(error);
        }

        Done.TrySetResult();
    }

    public void Dispose()
    {
        Builder.Dispose();
        _encoded?.Dispose();
        _encoded = null;
    }

    private readonly record struct PendingRecord(
        long Timestamp, TaskCompletionSource<DeliveryResult> Completion, long EnqueuedAt);
}
