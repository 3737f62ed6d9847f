using System;

namespace Lockstep.DualWrite;

/// <summary>Maps a key to a slot of a <see cref="DualWriterPool"/>: Kafka's murmur2 (the default partitioner's hash,
/// <c>org.apache.kafka.common.utils.Utils.murmur2</c>) modulo the pool size, so the mapping is stable across processes,
/// restarts and platforms.</summary>
internal static class KeyAffinity
{
    /// <summary>The slot of <paramref name="key"/> among <paramref name="slots"/>.</summary>
    public static int SlotOf(ReadOnlySpan<byte> key, int slots) => (Murmur2(key) & 0x7fffffff) % slots;

    /// <summary>32-bit MurmurHash2, seed 0x9747b28c, Java's fall-through tail; the same as Lockstep.Client's
    /// partitioner (which is internal to the client).</summary>
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
}
