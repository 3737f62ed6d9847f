using Lockstep.Protocol.Compression;
using Lockstep.Protocol.Primitives;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Tests.Compression;

/// <summary>
/// Every codec compresses and decompresses empty, tiny, block-boundary, compressible and incompressible 1 MiB
/// inputs back to the same bytes; rejects payloads past the caller's limit (the decompression-bomb guard); and
/// raises only <see cref="KafkaProtocolException"/> for truncated or corrupt payloads.
/// </summary>
public sealed class CodecRoundTripTests
{
    public static TheoryData<CompressionType> Codecs =>
    [
        CompressionType.Gzip,
        CompressionType.Snappy,
        CompressionType.Lz4,
        CompressionType.Zstd,
    ];

    private static readonly CompressionCodecRegistry Registry = KafkaCompression.CreateRegistry();

    private static byte[] Compress(CompressionType type, ReadOnlySpan<byte> data)
    {
        using var buffer = new PooledBufferWriter();
        Registry.Get(type).Compress(data, buffer);
        return buffer.ToArray();
    }

    private static byte[] Decompress(CompressionType type, ReadOnlySpan<byte> data, int limit = 64 << 20)
    {
        using var buffer = new PooledBufferWriter();
        var written = Registry.Get(type).Decompress(data, buffer, limit);
        Assert.Equal(buffer.WrittenCount, written);
        return buffer.ToArray();
    }

    private static IEnumerable<byte[]> Inputs()
    {
        var random = new Random(2024);
        byte[] Random(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }

        yield return [];
        yield return [42];
        yield return Random(32 * 1024);          // exactly one snappy block
        yield return Random(64 * 1024 + 1);      // one byte past an lz4 block
        var text = new byte[1 << 20];
        for (var i = 0; i < text.Length; i++)
        {
            text[i] = (byte)"the quick brown fox jumps over the lazy dog "[i % 44];
        }

        yield return text;                       // 1 MiB compressible
        yield return Random(1 << 20);            // 1 MiB incompressible
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Round_trips_every_input(CompressionType type)
    {
        foreach (var input in Inputs())
        {
            var compressed = Compress(type, input);
            Assert.Equal(input, Decompress(type, compressed));
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Output_larger_than_the_limit_is_rejected(CompressionType type)
    {
        var compressed = Compress(type, new byte[300_000]);
        var ex = Assert.Throws<KafkaProtocolException>(() => Decompress(type, compressed, limit: 100_000));
        Assert.Contains("limit", ex.Message, StringComparison.Ordinal);
        Assert.Equal(300_000, Decompress(type, compressed, limit: 300_000).Length);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Limit_caps_the_output_space_requested(CompressionType type)
    {
        // A 10 MiB bomb against a 1 MiB limit must fail before the destination grows far past the limit.
        var compressed = Compress(type, new byte[10 << 20]);
        using var buffer = new PooledBufferWriter();
        Assert.Throws<KafkaProtocolException>(() => Registry.Get(type).Decompress(compressed, buffer, 1 << 20));
        Assert.True(buffer.WrittenCount <= 1 << 20, $"wrote {buffer.WrittenCount} bytes");
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Truncated_payloads_raise_only_KafkaProtocolException(CompressionType type)
    {
        var input = new byte[3000];
        new Random(5).NextBytes(input.AsSpan(0, 1500));
        var compressed = Compress(type, input);
        var failures = 0;
        for (var length = 0; length < compressed.Length; length++)
        {
            try
            {
                var output = Decompress(type, compressed.AsSpan(0, length));
                // A prefix may decode cleanly only if it lost nothing but trailing framing, never content.
                Assert.NotEqual(input, output);
            }
            catch (KafkaProtocolException)
            {
                failures++;
            }
        }

        Assert.True(failures > compressed.Length / 2, $"{failures} of {compressed.Length} prefixes failed");
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Empty_payload_is_rejected(CompressionType type)
    {
        Assert.Throws<KafkaProtocolException>(() => Decompress(type, []));
    }

    [Fact]
    public void Registry_holds_all_four_codecs_and_rejects_duplicates()
    {
        Assert.All(Codecs, row => Assert.True(Registry.Supports(row.Data)));
        Assert.True(Registry.Supports(CompressionType.None));
        Assert.False(Registry.Supports((CompressionType)5));
        Assert.Throws<KafkaProtocolException>(() => Registry.Get((CompressionType)6));
        Assert.Throws<ArgumentException>(() => new CompressionCodecRegistry([new GzipCodec(), new GzipCodec()]));
        Assert.Equal(CompressionCodecRegistry.DefaultMaxDecompressedBytes, Registry.MaxDecompressedBytes);
    }
}
