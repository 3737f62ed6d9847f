using System.Text;
using Lockstep.Client.Producer;

namespace Lockstep.Client.Tests;

/// <summary>
/// Goal: keyed records land on the same partitions as with the Java client. Method: the murmur2 vectors of Kafka's
/// <c>UtilsTest.testMurmur2</c>, plus vectors computed by hand from the Java algorithm for the tail lengths 0-3, and
/// the <c>toPositive(murmur2(key)) % n</c> mapping including a negative hash.
/// </summary>
public sealed class PartitionerTests
{
    [Theory]
    // From Apache Kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (testMurmur2).
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2_matches_Kafka_UtilsTest_vectors(string key, int expected) =>
        Assert.Equal(expected, Partitioner.Murmur2(Encoding.ASCII.GetBytes(key)));

    [Fact]
    public void Murmur2_of_empty_key_is_the_seed_mixed_with_length_zero()
    {
        // h = seed ^ 0 = 0x9747b28c, no blocks, no tail; then the final avalanche, computed independently here.
        unchecked
        {
            var h = 0x9747b28cu;
            h ^= h >> 13;
            h *= 0x5bd1e995;
            h ^= h >> 15;
            Assert.Equal((int)h, Partitioner.Murmur2([]));
        }
    }

    [Fact]
    public void Murmur2_tail_handling_falls_through_like_Java()
    {
        // One byte: h = (seed ^ 1) ^ b0, h *= m, then the avalanche.
        unchecked
        {
            var h = 0x9747b28cu ^ 1u;
            h ^= 0x61;
            h *= 0x5bd1e995;
            h ^= h >> 13;
            h *= 0x5bd1e995;
            h ^= h >> 15;
            Assert.Equal((int)h, Partitioner.Murmur2("a"u8));
        }
    }

    [Fact]
    public void PartitionForKey_uses_toPositive_not_abs()
    {
        var key = Encoding.ASCII.GetBytes("foobar");
        // murmur2("foobar") = -790332482; toPositive clears the sign bit: -790332482 & 0x7fffffff = 1357151166.
        Assert.Equal(1357151166, Partitioner.ToPositive(-790332482));
        Assert.Equal(1357151166 % 7, Partitioner.PartitionForKey(key, 7));
        Assert.Equal(0, Partitioner.ToPositive(int.MinValue));
    }

    [Fact]
    public void Public_KafkaPartitioner_matches_the_producer_and_rejects_an_empty_range()
    {
        // The dual-write pool's key affinity routes with the public API; it must agree with the producer's choice.
        var key = Encoding.ASCII.GetBytes("foobar");
        Assert.Equal(-790332482, KafkaPartitioner.Murmur2(key));
        Assert.Equal(Partitioner.PartitionForKey(key, 7), KafkaPartitioner.PartitionForKey(key, 7));
        Assert.Equal(1357151166 % 16, KafkaPartitioner.PartitionForKey(key, 16));
        Assert.Throws<ArgumentOutOfRangeException>(() => KafkaPartitioner.PartitionForKey(key, 0));
    }
}
