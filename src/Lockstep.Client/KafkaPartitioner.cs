using System;

namespace Lockstep.Client;

/// <summary>
/// Kafka's key hashing, public so that other components can route by key exactly as the producer partitions (the
/// dual-write pool's key affinity uses it): <c>toPositive(murmur2(key)) % n</c>, the default partitioner of the Java
/// client (<c>BuiltInPartitioner.partitionForKey</c>) and librdkafka's <c>murmur2_random</c>.
/// </summary>
public static class KafkaPartitioner
{
    /// <summary>
    /// Kafka's murmur2 (<c>org.apache.kafka.common.utils.Utils.murmur2</c>): 32-bit MurmurHash2 with seed
    /// 0x9747b28c, little-endian 4-byte blocks, Java's fall-through tail handling and a signed (Java int) result.
    /// </summary>
    /// <param name="data">The key bytes.</param>
    /// <returns>The hash, as Java computes it.</returns>
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

    /// <summary>Java's <c>Utils.toPositive</c>: clears the sign bit (not <c>Math.Abs</c>, which fails on
    /// <see cref="int.MinValue"/>).</summary>
    /// <param name="number">Any int.</param>
    /// <returns>A non-negative int.</returns>
    public static int ToPositive(int number) => number & 0x7fffffff;

    /// <summary>The partition (or slot) of a key among <paramref name="count"/>, as Kafka's default partitioner
    /// chooses it.</summary>
    /// <param name="key">The key bytes.</param>
    /// <param name="count">Number of partitions or slots (≥ 1).</param>
    /// <returns>A value in [0, <paramref name="count"/>).</returns>
    public static int PartitionForKey(ReadOnlySpan<byte> key, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return ToPositive(Murmur2(key)) % count;
    }
}
