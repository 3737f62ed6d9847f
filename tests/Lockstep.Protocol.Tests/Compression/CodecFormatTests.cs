using System.Buffers.Binary;
using System.IO.Compression;
using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Primitives;
using ZstdSharp;

namespace Lockstep.Protocol.Tests.Compression;

/// <summary>
/// Wire-format facts that interoperability depends on, checked byte for byte: the xerial snappy stream header and
/// block framing the Java producer writes (snappy-java SnappyOutputStream), raw snappy as librdkafka may send,
/// the LZ4 frame header Kafka's Lz4BlockOutputStream writes (FLG 0x60, BD 0x40, checksum 0x82), LZ4 frames in the
/// variants other writers produce (checksums, linked blocks, content size), XXH32 test vectors, and that gzip and
/// zstd output is readable by GZipStream and ZstdSharp directly.
/// </summary>
public sealed class CodecFormatTests
{
    private static byte[] Compress(Lockstep.Protocol.Records.ICompressionCodec codec, ReadOnlySpan<byte> data)
    {
        using var buffer = new PooledBufferWriter();
        codec.Compress(data, buffer);
        return buffer.ToArray();
    }

    private static byte[] Decompress(Lockstep.Protocol.Records.ICompressionCodec codec, ReadOnlySpan<byte> data)
    {
        using var buffer = new PooledBufferWriter();
        codec.Decompress(data, buffer, 64 << 20);
        return buffer.ToArray();
    }

    private static byte[] Sample(int length)
    {
        var data = new byte[length];
        for (var i = 0; i < length; i++)
        {
            data[i] = (byte)((i * 7) % 251 < 128 ? i % 13 : i % 200);
        }

        return data;
    }

    [Fact]
    public void Snappy_writes_the_xerial_header_and_32KiB_blocks()
    {
        var input = Sample(100_000);
        var framed = Compress(new SnappyCodec(), input);
        Assert.Equal(
            new byte[] { 0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 },
            framed[..16]);

        // Walk the blocks: each is a big-endian length and a raw snappy block of at most 32 KiB of input.
        var rest = framed.AsSpan(16);
        var sizes = new List<int>();
        while (!rest.IsEmpty)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(rest);
            sizes.Add(Snappier.Snappy.GetUncompressedLength(rest.Slice(4, length)));
            rest = rest[(4 + length)..];
        }

        Assert.Equal([32768, 32768, 32768, 100_000 - (3 * 32768)], sizes);
        Assert.Equal(new byte[] { 0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 },
            Compress(new SnappyCodec(), []));
    }

    [Fact]
    public void Snappy_accepts_raw_unframed_blocks_and_concatenated_xerial_streams()
    {
        var input = Sample(50_000);
        var raw = Snappier.Snappy.CompressToArray(input);
        Assert.Equal(input, Decompress(new SnappyCodec(), raw));

        var framed = Compress(new SnappyCodec(), input);
        Assert.Equal([.. input, .. input], Decompress(new SnappyCodec(), [.. framed, .. framed]));
    }

    [Fact]
    public void Snappy_raw_block_declaring_a_huge_length_is_rejected_before_allocation()
    {
        // Varint preamble 0xFFFFFFFF 0x0F = 4 GiB - 1, then nothing.
        var hostile = new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00 };
        using var buffer = new PooledBufferWriter();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<KafkaProtocolException>(() => new SnappyCodec().Decompress(hostile, buffer, 64 << 20));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void Lz4_frame_header_matches_Kafka_Java_bytes()
    {
        var frame = Compress(new Lz4FrameCodec(), Sample(1000));
        // Magic 0x184D2204 little-endian, FLG 0x60, BD 0x40, header checksum (XXH32(60 40) >> 8) & 0xFF = 0x82.
        Assert.Equal(new byte[] { 0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82 }, frame[..7]);
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, frame[^4..]);

        var empty = Compress(new Lz4FrameCodec(), []);
        Assert.Equal(new byte[] { 0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82, 0, 0, 0, 0 }, empty);
    }

    [Fact]
    public void Lz4_writes_64KiB_blocks_and_stores_incompressible_ones_raw()
    {
        var input = new byte[64 * 1024 + 10];
        new Random(3).NextBytes(input);
        var frame = Compress(new Lz4FrameCodec(), input);
        var first = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(7));
        Assert.Equal(0x80000000u | (64 * 1024), first);
        var second = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(7 + 4 + (64 * 1024)));
        Assert.Equal(0x80000000u | 10, second);
        Assert.Equal(input, Decompress(new Lz4FrameCodec(), frame));
    }

    [Fact]
    public void Xxh32_matches_reference_vectors()
    {
        Assert.Equal(0x02CC5D05u, Lockstep.Protocol.Compression.Internal.XxHash32.Hash([]));
        Assert.Equal(0x32D153FFu, Lockstep.Protocol.Compression.Internal.XxHash32.Hash("abc"u8));
        // Streaming in odd pieces equals one shot.
        var data = Sample(1000);
        var state = Lockstep.Protocol.Compression.Internal.XxHash32.Create();
        state.Append(data.AsSpan(0, 3));
        state.Append(data.AsSpan(3, 29));
        state.Append(data.AsSpan(32));
        Assert.Equal(Lockstep.Protocol.Compression.Internal.XxHash32.Hash(data), state.Digest());
    }

    /// <summary>Hand-builds an LZ4 frame with the optional features Java does not write.</summary>
    private static byte[] BuildFrame(byte[] input, bool linked, bool blockChecksum, bool contentSize, bool contentChecksum)
    {
        var flg = (byte)(0x40 | (linked ? 0 : 0x20) | (blockChecksum ? 0x10 : 0) | (contentSize ? 0x08 : 0)
            | (contentChecksum ? 0x04 : 0));
        var frame = new List<byte> { 0x04, 0x22, 0x4D, 0x18, flg, 0x40 };
        if (contentSize)
        {
            var size = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(size, (ulong)input.Length);
            frame.AddRange(size);
        }

        frame.Add(Lz4FrameCodec.HeaderChecksum(frame.ToArray().AsSpan(4)));
        var word = new byte[4];
        for (var offset = 0; offset < input.Length; offset += 64 * 1024)
        {
            var block = input.AsSpan(offset, Math.Min(64 * 1024, input.Length - offset));
            var encoded = new byte[K4os.Compression.LZ4.LZ4Codec.MaximumOutputSize(block.Length)];
            // Linked frames are built from independently encoded blocks, which a linked decoder must also accept.
            var n = K4os.Compression.LZ4.LZ4Codec.Encode(block, encoded);
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)n);
            frame.AddRange(word);
            frame.AddRange(encoded.AsSpan(0, n).ToArray());
            if (blockChecksum)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(word, Lockstep.Protocol.Compression.Internal.XxHash32.Hash(encoded.AsSpan(0, n)));
                frame.AddRange(word);
            }
        }

        frame.AddRange(new byte[4]);
        if (contentChecksum)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(word, Lockstep.Protocol.Compression.Internal.XxHash32.Hash(input));
            frame.AddRange(word);
        }

        return [.. frame];
    }

    [Theory]
    [InlineData(false, true, true, true)]
    [InlineData(true, false, false, true)]
    [InlineData(true, true, true, false)]
    public void Lz4_reads_frames_with_optional_features(bool linked, bool blockChecksum, bool contentSize, bool contentChecksum)
    {
        var input = Sample(200_000);
        var frame = BuildFrame(input, linked, blockChecksum, contentSize, contentChecksum);
        Assert.Equal(input, Decompress(new Lz4FrameCodec(), frame));

        // A wrong content checksum, block checksum or header checksum is caught.
        var corrupt = (byte[])frame.Clone();
        corrupt[6 + (contentSize ? 8 : 0)] ^= 1;
        Assert.Throws<KafkaProtocolException>(() => Decompress(new Lz4FrameCodec(), corrupt));
        if (contentChecksum)
        {
            corrupt = (byte[])frame.Clone();
            corrupt[^1] ^= 1;
            Assert.Throws<KafkaProtocolException>(() => Decompress(new Lz4FrameCodec(), corrupt));
        }
    }

    [Fact]
    public void Lz4_content_size_above_the_limit_is_rejected_up_front()
    {
        var frame = BuildFrame(Sample(10_000), linked: false, blockChecksum: false, contentSize: true, contentChecksum: false);
        using var buffer = new PooledBufferWriter();
        var ex = Assert.Throws<KafkaProtocolException>(() => new Lz4FrameCodec().Decompress(frame, buffer, 5000));
        Assert.Contains("limit", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, buffer.WrittenCount);
    }

    [Fact]
    public void Gzip_output_is_readable_by_GZipStream()
    {
        var input = Sample(300_000);
        var compressed = Compress(new GzipCodec(), input);
        Assert.Equal(new byte[] { 0x1F, 0x8B, 0x08 }, compressed[..3]);
        using var stream = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var output = new MemoryStream();
        stream.CopyTo(output);
        Assert.Equal(input, output.ToArray());
    }

    [Fact]
    public void Zstd_output_is_readable_by_ZstdSharp_directly_and_vice_versa()
    {
        var input = Sample(300_000);
        var compressed = Compress(new ZstdCodec(), input);
        Assert.Equal(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, compressed[..4]);
        using var decompressor = new Decompressor();
        Assert.Equal(input, decompressor.Unwrap(compressed).ToArray());

        // A streamed frame without a content size (as zstd-jni's ZstdOutputStream writes) is readable too.
        using var streamed = new MemoryStream();
        using (var zstd = new CompressionStream(streamed, 3))
        {
            zstd.Write(input);
        }

        Assert.Equal(input, Decompress(new ZstdCodec(), streamed.ToArray()));
    }
}
