using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Tests.Primitives;

/// <summary>
/// Table tests for Kafka's varint encodings: the zigzag VARINT/VARLONG of the record format and the
/// UNSIGNED_VARINT of flexible versions, against byte sequences taken from the protocol guide's definitions.
/// </summary>
public sealed class VarIntTests
{
    [Theory]
    [InlineData(0, new byte[] { 0x00 })]
    [InlineData(-1, new byte[] { 0x01 })]
    [InlineData(1, new byte[] { 0x02 })]
    [InlineData(63, new byte[] { 0x7E })]
    [InlineData(-64, new byte[] { 0x7F })]
    [InlineData(64, new byte[] { 0x80, 0x01 })]
    [InlineData(int.MaxValue, new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 0x0F })]
    [InlineData(int.MinValue, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    public void ZigZag_varint_matches_table(int value, byte[] expected)
    {
        using var buffer = new PooledBufferWriter();
        var writer = new KafkaWriter(buffer);
        writer.WriteVarInt(value);
        writer.Flush();
        Assert.Equal(expected, buffer.ToArray());
        Assert.Equal(expected.Length, KafkaWriter.ZigZagVarIntSize(value));

        var reader = new KafkaReader(expected.AsSpan());
        Assert.Equal(value, reader.ReadVarInt());
        Assert.True(reader.End);
    }

    [Fact]
    public void Unsigned_varint_longer_than_five_bytes_is_rejected()
    {
        var bytes = new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
        var ex = Assert.Throws<KafkaProtocolException>(() => new KafkaReader(bytes.AsSpan()).ReadUnsignedVarInt());
        Assert.Contains("overflows", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hostile_array_length_is_rejected_before_allocation()
    {
        // INT32 count 2^31-1 followed by nothing: must fail on the count, not try to allocate it.
        var bytes = new byte[] { 0x7F, 0xFF, 0xFF, 0xFF };
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(bytes.AsSpan()).ReadArrayLength());
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
    }
}
