using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Goal: every problem the decoder fuzzing found stays fixed. Method: each test replays the minimal input that
/// exposed it, as a byte array, under the production (default 64 MiB) decompression limit, and checks the
/// exception type and the allocation of that one decode.
/// </summary>
public sealed class FuzzRegressionTests
{
    /// <summary>Allocation allowed to one rejected decode of a tiny input: the exception and its message.</summary>
    private const long SmallDecodeBytes = 16 * 1024;

    [Fact]
    [Trait("Issue", "2")]
    public void Snappy_block_declaring_32_MiB_in_6_bytes_is_rejected_before_renting_the_output()
    {
        // Raw (unframed) snappy block: varint uncompressed length 2^25, then a 1-byte literal. Before the fix the
        // codec asked the destination for the declared 32 MiB first and failed only afterwards: a 67-byte produce
        // batch cost 64 MiB of rented buffer under the default limit.
        byte[] block = [0x80, 0x80, 0x80, 0x10, 0x00, (byte)'a'];
        var (error, allocated, _) = DecompressMeasured(new SnappyCodec(), block);
        Assert.IsType<KafkaProtocolException>(error);
        Assert.True(allocated <= SmallDecodeBytes, $"A {block.Length}-byte block allocated {allocated} byte(s).");
    }

    [Fact]
    [Trait("Issue", "2")]
    public void Lz4_frame_with_4_MiB_block_size_and_a_2_byte_block_decodes_without_renting_4_MiB()
    {
        // LZ4 frame: magic, FLG 0x60, BD 0x70 (4 MiB maximum block), header checksum, one 2-byte compressed block,
        // end mark. The block is a lone literal "a", so the frame is valid; before the fix the codec sized the
        // output by the frame's block maximum and rented 4 MiB to decode 17 bytes into one.
        byte[] frame =
        [
            0x04, 0x22, 0x4D, 0x18, 0x60, 0x70, Lz4FrameCodec.HeaderChecksum([0x60, 0x70]),
            0x02, 0x00, 0x00, 0x00, 0x10, (byte)'a',
            0x00, 0x00, 0x00, 0x00,
        ];
        var (error, allocated, output) = DecompressMeasured(new Lz4FrameCodec(), frame);
        Assert.Null(error);
        Assert.Equal("a"u8.ToArray(), output);
        Assert.True(allocated <= SmallDecodeBytes, $"A {frame.Length}-byte frame allocated {allocated} byte(s).");
    }

    /// <summary>Decompresses under the default limit, after a warm-up, measuring this thread's allocation.</summary>
    private static (Exception? Error, long Allocated, byte[] Output) DecompressMeasured(ICompressionCodec codec, byte[] payload)
    {
        using var destination = new PooledBufferWriter();

        // Warm up the codec's per-thread state and the pool with an honest payload first.
        using (var honest = new PooledBufferWriter())
        {
            codec.Compress("warm-up"u8, honest);
            codec.Decompress(honest.WrittenSpan, destination, CompressionCodecRegistry.DefaultMaxDecompressedBytes);
            destination.Clear();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Xunit.Record.Exception(
            () => codec.Decompress(payload, destination, CompressionCodecRegistry.DefaultMaxDecompressedBytes));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return (error, allocated, destination.ToArray());
    }
}
