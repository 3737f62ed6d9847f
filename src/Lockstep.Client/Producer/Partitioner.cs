using System;

namespace Lockstep.Client.Producer;

/// <summary>
/// Java-compatible partition choice. Keyed records: <c>toPositive(murmur2(key)) % numPartitions</c>
/// (<c>BuiltInPartitioner.partitionForKey</c>), so a key maps to the same partition as with the Java client and
/// librdkafka's <c>murmur2_random</c>. Keyless records use <em>sticky</em> partitioning (KIP-480/KIP-794): stay on
/// one partition until about <c>batch.size</c> bytes were sent to it, then move to another chosen at random, which
/// fills batches instead of scattering single records.
/// </summary>
internal static class Partitioner
{
    /// <summary>Kafka's murmur2; see <see cref="KafkaPartitioner.Murmur2"/>.</summary>
    public static int Murmur2(ReadOnlySpan<byte> data) => KafkaPartitioner.Murmur2(data);

    /// <summary>Java's <c>Utils.toPositive</c>; see <see cref="KafkaPartitioner.ToPositive"/>.</summary>
    public static int ToPositive(int number) => KafkaPartitioner.ToPositive(number);

    /// <summary>The partition of a keyed record.</summary>
    public static int PartitionForKey(ReadOnlySpan<byte> key, int numPartitions) =>
        ToPositive(Murmur2(key)) % numPartitions;
}
