using System.Collections.Generic;
using Lockstep.Protocol.Records;

namespace Lockstep.Client;

/// <summary>A record to produce.</summary>
/// <param name="Topic">The destination topic.</param>
/// <param name="Key">The key bytes, or null. Keyed records go to <c>toPositive(murmur2(key)) % partitions</c>, the
/// Java client's choice, so the same key lands on the same partition whichever client wrote it.</param>
/// <param name="Value">The value bytes, or null (a tombstone on compacted topics).</param>
public sealed record ProducerRecord(string Topic, byte[]? Key, byte[]? Value)
{
    /// <summary>An explicit partition; null lets the partitioner choose.</summary>
    public int? Partition { get; init; }

    /// <summary>The create timestamp in Unix milliseconds; null means "now" from the producer's clock.</summary>
    public long? Timestamp { get; init; }

    /// <summary>Record headers (Kafka allows duplicate keys; order is preserved).</summary>
    public IReadOnlyList<RecordHeader>? Headers { get; init; }
}
