using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Compression;

/// <summary>Entry point: a <see cref="CompressionCodecRegistry"/> holding all four of Kafka's codecs.</summary>
public static class KafkaCompression
{
    /// <summary>
    /// Creates a registry with gzip, snappy (xerial framing), lz4 (frame format) and zstd, capping each batch's
    /// decompressed size at <paramref name="maxDecompressedBytes"/> bytes.
    /// </summary>
    public static CompressionCodecRegistry CreateRegistry(
        int maxDecompressedBytes = CompressionCodecRegistry.DefaultMaxDecompressedBytes) =>
        new([new GzipCodec(), new SnappyCodec(), new Lz4FrameCodec(), new ZstdCodec()], maxDecompressedBytes);
}
