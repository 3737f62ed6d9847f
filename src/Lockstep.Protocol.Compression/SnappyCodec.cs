using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO;
using Lockstep.Protocol.Compression.Internal;
using Lockstep.Protocol.Records;
using Snappier;

namespace Lockstep.Protocol.Compression;

/// <summary>
/// Snappy, compression type 2, in the xerial snappy-java stream framing that Kafka's Java producer writes through
/// <c>org.xerial.snappy.SnappyOutputStream</c>: an 8-byte magic (0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00), int32 version
/// 1, int32 compatible version 1, then for each block of at most 32 KiB of input (SnappyOutputStream's
/// DEFAULT_BLOCK_SIZE) a big-endian int32 compressed length and a raw snappy block.
/// </summary>
/// <remarks>
/// On read, a payload that does not start with the magic is taken as one raw (unframed) snappy block, which older
/// librdkafka and other non-Java producers send and which Java's SnappyInputStream also falls back to. Like
/// SnappyInputStream, a magic header reappearing between blocks (concatenated streams) is skipped.
/// </remarks>
public sealed class SnappyCodec : ICompressionCodec
{
    /// <summary>Input bytes per xerial block (snappy-java SnappyOutputStream.DEFAULT_BLOCK_SIZE).</summary>
    public const int BlockSize = 32 * 1024;

    /// <summary>Size of the xerial stream header: magic, version, compatible version.</summary>
    public const int HeaderSize = 16;

    private const string Name = "snappy";

    private static ReadOnlySpan<byte> Magic =>
        [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0];

    /// <inheritdoc />
    public CompressionType Type => CompressionType.Snappy;

    /// <inheritdoc />
    public void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var header = destination.GetSpan(HeaderSize);
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], 1);
        BinaryPrimitives.WriteInt32BigEndian(header[12..], 1);
        destination.Advance(HeaderSize);

        while (!source.IsEmpty)
        {
            var block = source[..Math.Min(BlockSize, source.Length)];
            source = source[block.Length..];
            var span = destination.GetSpan(4 + Snappy.GetMaxCompressedLength(block.Length));
            var written = Snappy.Compress(block, span[4..]);
            BinaryPrimitives.WriteInt32BigEndian(span, written);
            destination.Advance(4 + written);
        }
    }

    /// <inheritdoc />
    public int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxOutputBytes)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CodecErrors.ThrowIfBadLimit(maxOutputBytes);
        CodecErrors.ThrowIfEmpty(Name, source);
        try
        {
            if (!source.StartsWith(Magic))
            {
                return DecompressBlock(source, destination, maxOutputBytes);
            }

            var total = 0;
            while (!source.IsEmpty)
            {
                if (source.StartsWith(Magic))
                {
                    if (source.Length < HeaderSize)
                    {
                        CodecErrors.ThrowCorrupt(Name, "the xerial header is truncated.");
                    }

                    // snappy-java rejects streams whose compatible version is below 1 (SnappyCodec.isValidHeader).
                    if (BinaryPrimitives.ReadInt32BigEndian(source[12..]) < 1)
                    {
                        CodecErrors.ThrowCorrupt(Name, "the xerial header has an invalid compatible version.");
                    }

                    source = source[HeaderSize..];
                    continue;
                }

                if (source.Length < 4)
                {
                    CodecErrors.ThrowCorrupt(Name, "a block length is truncated.");
                }

                var length = BinaryPrimitives.ReadInt32BigEndian(source);
                if (length < 0 || length > source.Length - 4)
                {
                    CodecErrors.ThrowCorrupt(
                        Name, $"block length {length} exceeds the {source.Length - 4} byte(s) left.");
                }

                total += DecompressBlock(source.Slice(4, length), destination, maxOutputBytes - total);
                source = source[(4 + length)..];
            }

            return total;
        }
        catch (InvalidDataException ex)
        {
            CodecErrors.ThrowCorrupt(Name, ex);
            return 0;
        }
        catch (ArgumentException ex)
        {
            CodecErrors.ThrowCorrupt(Name, ex);
            return 0;
        }
    }

    private static int DecompressBlock(ReadOnlySpan<byte> block, IBufferWriter<byte> destination, int maxOutputBytes)
    {
        // The block's preamble states its uncompressed length; check it before asking for any output space.
        var length = Snappy.GetUncompressedLength(block);
        if (length < 0)
        {
            CodecErrors.ThrowCorrupt(Name, "negative uncompressed length.");
        }

        // Snappy's densest element is a 3-byte copy that emits 64 bytes (format_description.txt in google/snappy),
        // so no block expands more than 64/3 < 22 times. A larger declared length is corrupt; rejecting it here
        // keeps a few hostile bytes from renting an output buffer as large as the decompression limit.
        if (length > (long)block.Length * 22)
        {
            CodecErrors.ThrowCorrupt(Name, $"declared length {length} is more than {block.Length} byte(s) can encode.");
        }

        if (length > maxOutputBytes)
        {
            CodecErrors.ThrowLimit(Name, maxOutputBytes);
        }

        if (length == 0)
        {
            return 0;
        }

        var span = destination.GetSpan(length)[..length];
        var written = Snappy.Decompress(block, span);
        if (written != length)
        {
            CodecErrors.ThrowCorrupt(Name, $"block produced {written} byte(s) but declared {length}.");
        }

        destination.Advance(written);
        return written;
    }
}
