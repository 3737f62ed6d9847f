using System;
using System.Buffers;
using System.Collections.Generic;

namespace Lockstep.Protocol.Records;

/// <summary>
/// The set of compression codecs a reader or writer of record batches may use, plus the decompression-bomb
/// limit that applies to every decompression. Immutable and thread-safe; share one instance.
/// </summary>
/// <remarks>
/// A batch whose codec is not registered cannot be read: Kafka answers such produce requests with
/// UNSUPPORTED_COMPRESSION_TYPE, and this type raises <see cref="KafkaProtocolException"/> for the handler to map.
/// </remarks>
public sealed class CompressionCodecRegistry
{
    /// <summary>
    /// Default cap on the decompressed size of one batch: 64 MiB. Kafka's default <c>message.max.bytes</c> is about
    /// 1 MiB of <em>compressed</em> data, so 64 MiB leaves a 64x ratio for honest producers while stopping a tiny
    /// hostile batch from expanding without bound.
    /// </summary>
    public const int DefaultMaxDecompressedBytes = 64 * 1024 * 1024;

    private readonly ICompressionCodec?[] _codecs = new ICompressionCodec?[8];

    /// <summary>A registry with no codecs: only uncompressed batches can be read or written.</summary>
    public static CompressionCodecRegistry None { get; } = new([]);

    /// <summary>
    /// Creates a registry of <paramref name="codecs"/> (at most one per <see cref="CompressionType"/>) whose
    /// decompressions are capped at <paramref name="maxDecompressedBytes"/> bytes per batch.
    /// </summary>
    public CompressionCodecRegistry(
        IEnumerable<ICompressionCodec> codecs,
        int maxDecompressedBytes = DefaultMaxDecompressedBytes)
    {
        ArgumentNullException.ThrowIfNull(codecs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxDecompressedBytes);
        foreach (var codec in codecs)
        {
            ArgumentNullException.ThrowIfNull(codec);
            var id = (int)codec.Type;
            if (id is <= 0 or >= 8)
            {
                throw new ArgumentException($"Codec {codec.GetType().Name} has invalid type id {id}.", nameof(codecs));
            }

            if (_codecs[id] is not null)
            {
                throw new ArgumentException($"Two codecs registered for {codec.Type}.", nameof(codecs));
            }

            _codecs[id] = codec;
        }

        MaxDecompressedBytes = maxDecompressedBytes;
    }

    /// <summary>The most bytes one batch's records may decompress to.</summary>
    public int MaxDecompressedBytes { get; }

    /// <summary>Returns a registry with the same codecs but a different decompression limit.</summary>
    public CompressionCodecRegistry WithMaxDecompressedBytes(int maxDecompressedBytes)
    {
        var codecs = new List<ICompressionCodec>();
        foreach (var codec in _codecs)
        {
            if (codec is not null)
            {
                codecs.Add(codec);
            }
        }

        return new CompressionCodecRegistry(codecs, maxDecompressedBytes);
    }

    /// <summary>True when a codec for <paramref name="type"/> is registered (<see cref="CompressionType.None"/>
    /// is always supported).</summary>
    public bool Supports(CompressionType type) =>
        type == CompressionType.None || ((uint)type < 8 && _codecs[(int)type] is not null);

    /// <summary>
    /// Returns the codec for <paramref name="type"/>; raises <see cref="KafkaProtocolException"/> when none is
    /// registered (including for <see cref="CompressionType.None"/> and the unassigned ids 5-7).
    /// </summary>
    public ICompressionCodec Get(CompressionType type)
    {
        var codec = (uint)type < 8 ? _codecs[(int)type] : null;
        if (codec is null)
        {
            ThrowHelper.ThrowProtocol($"Unsupported compression type {(int)type} ({type}).");
        }

        return codec;
    }

    /// <summary>
    /// Decompresses <paramref name="source"/> with the codec for <paramref name="type"/>, enforcing
    /// <see cref="MaxDecompressedBytes"/>. Returns the bytes appended to <paramref name="destination"/>.
    /// </summary>
    public int Decompress(CompressionType type, ReadOnlySpan<byte> source, IBufferWriter<byte> destination) =>
        Get(type).Decompress(source, destination, MaxDecompressedBytes);
}
