using System;
using Lockstep.Client;

namespace Lockstep.DualWrite;

/// <summary>Maps a key to a slot of a <see cref="DualWriterPool"/>: Kafka's murmur2 (the default partitioner's hash,
/// <c>org.apache.kafka.common.utils.Utils.murmur2</c>) modulo the pool size, so the mapping is stable across processes,
/// restarts and platforms. The hash is the client's own (<see cref="KafkaPartitioner"/>), so a key's slot and its
/// partition come from one implementation.</summary>
internal static class KeyAffinity
{
    /// <summary>The slot of <paramref name="key"/> among <paramref name="slots"/>.</summary>
    public static int SlotOf(ReadOnlySpan<byte> key, int slots) => KafkaPartitioner.PartitionForKey(key, slots);

    /// <summary>Kafka's murmur2 of <paramref name="data"/>.</summary>
    public static int Murmur2(ReadOnlySpan<byte> data) => KafkaPartitioner.Murmur2(data);
}
