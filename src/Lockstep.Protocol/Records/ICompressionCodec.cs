using System;
using System.Buffers;

namespace Lockstep.Protocol.Records;

/// <summary>
/// One of Kafka's record-batch compression codecs (attribute bits 0-2). Lockstep.Protocol only defines the
/// contract; the implementations live in Lockstep.Protocol.Compression so that this project stays BCL-only
/// (style-guide.md §3.2).
/// </summary>
/// <remarks>
/// Implementations must be thread-safe: one registry instance is shared by every connection.
/// </remarks>
public interface ICompressionCodec
{
    /// <summary>The attribute value this codec handles.</summary>
    CompressionType Type { get; }

    /// <summary>
    /// Compresses <paramref name="source"/> (the concatenated records of a batch) and appends the result, in the
    /// exact wire format Kafka's Java producer writes, to <paramref name="destination"/>.
    /// </summary>
    void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination);

    /// <summary>
    /// Decompresses <paramref name="source"/> into <paramref name="destination"/> and returns the number of bytes
    /// written. Raises <see cref="KafkaProtocolException"/> when the input is malformed or would decompress to
    /// more than <paramref name="maxOutputBytes"/> bytes (the decompression-bomb guard); in that case no more
    /// than about <paramref name="maxOutputBytes"/> bytes are ever requested from <paramref name="destination"/>.
    /// </summary>
    int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxOutputBytes);
}
