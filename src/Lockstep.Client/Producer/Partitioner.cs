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
    /// <summary>
    /// Kafka's murmur2 (<c>org.apache.kafka.common.utils.Utils.murmur2</c>): 32-bit MurmurHash2 with seed
    /// 0x9747b28c, little-endian 4-byte blocks, Java's fall-through tail handling and signed (Java int) result.
    /// </summary>
    public static int Murmur2(ReadOnlySpan<byte> data)
    {
        const uint Seed = 0x9747b28c;
        const uint M = 0x5bd1e995;
        const int R = 24;
        var length = data.Length;
        var h = Seed ^ (uint)length;
        var length4 = length / 4;
        for (var i = 0; i < length4; i++)
        {
            var i4 = i * 4;
            var k = data[i4] | ((uint)data[i4 + 1] << 8) | ((uint)data[i4 + 2] << 16) | ((uint)data[i4 + 3] << 24);
            k *= M;
            k ^= k >> R;
            k *= M;
            h *= M;
            h ^= k;
        }

        // Java's switch falls through from case 3 to case 1.
        var tail = length & ~3;
        switch (length % 4)
        {
            case 3:
                h ^= (uint)data[tail + 2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)data[tail + 1] << 8;
                goto case 1;
            case 1:
                h ^= data[tail];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        h ^= h >> 15;
        return unchecked((int)h);
    }

    /// <summary>Java's <c>Utils.toPositive</c>: clears the sign bit (not <c>Math.abs</c>, which fails on MinValue).
    /// </summary>
    public static int ToPositive(int number) => number & 0x7fffffff;

    /// <summary>The partition of a keyed record.</summary>
    public static int PartitionForKey(ReadOnlySpan<byte> key, int numPartitions) =>
        ToPositive(Murmur2(key)) % numPartitions;
}
