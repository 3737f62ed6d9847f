using System;
using System.Collections.Generic;
using System.Threading.Tasks;
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

    /// <summary>The encoded batch with the current id, epoch and sequence.</summary>
    public byte[] Encode(bool transactional)
    {
        Builder.ProducerId = ProducerId;
        Builder.ProducerEpoch = ProducerEpoch;
        Builder.BaseSequence = BaseSequence;
        Builder.IsTransactional = transactional;
        return Builder.ToArray();
    }

    /// <summary>Completes every record: offsets are consecutive from <paramref name="baseOffset"/>.</summary>
    public void Succeed(long baseOffset, long logAppendTime, Action<double> recordLatencyMs, Func<long, double> elapsedMs)
    {
        for (var i = 0; i < _records.Count; i++)
        {
            var record = _records[i];
            var offset = baseOffset < 0 ? -1 : baseOffset + i;
            var timestamp = logAppendTime >= 0 ? logAppendTime : record.Timestamp;
            recordLatencyMs(elapsedMs(record.EnqueuedAt));
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

    public void Dispose() => Builder.Dispose();

    private readonly record struct PendingRecord(
        long Timestamp, TaskCompletionSource<DeliveryResult> Completion, long EnqueuedAt);
}
