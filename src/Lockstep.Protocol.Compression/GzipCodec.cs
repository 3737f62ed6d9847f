using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;
using Lockstep.Protocol.Compression.Internal;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Compression;

/// <summary>
/// gzip (RFC 1952), compression type 1, through <see cref="GZipStream"/>. Java's producer wraps the records in
/// <c>java.util.zip.GZIPOutputStream</c> at zlib's default level 6, which is what
/// <see cref="CompressionLevel.Optimal"/> selects.
/// </summary>
public sealed class GzipCodec : ICompressionCodec
{
    private const string Name = "gzip";
    private const int ChunkSize = 16 * 1024;

    private static ReadOnlySpan<byte> EmptyMember =>
        [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>Smallest gzip member: 10-byte header, 2-byte empty deflate block, 8-byte trailer.</summary>
    private const int MinMemberSize = 20;

    /// <inheritdoc />
    public CompressionType Type => CompressionType.Gzip;

    /// <inheritdoc />
    public void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (source.IsEmpty)
        {
            // GZipStream emits nothing at all for empty input, while Java's GZIPOutputStream always writes a
            // member; write the canonical empty one: header, an empty final stored block, CRC 0, ISIZE 0.
            destination.Write(EmptyMember);
            return;
        }

        using var sink = new BufferWriterStream(destination);
        using (var gzip = new GZipStream(sink, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(source);
        }
    }

    /// <inheritdoc />
    public int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxOutputBytes)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CodecErrors.ThrowIfBadLimit(maxOutputBytes);
        CodecErrors.ThrowIfEmpty(Name, source);
        if (source.Length < MinMemberSize)
        {
            CodecErrors.ThrowCorrupt(Name, $"{source.Length} byte(s) cannot hold a gzip member.");
        }

        // GZipStream only reads streams, so the compressed bytes (bounded by the batch) are copied once into a
        // pooled array; the output is still streamed in chunks so the limit is enforced before it is exceeded.
        var rented = ArrayPool<byte>.Shared.Rent(source.Length);
        try
        {
            source.CopyTo(rented);
            using var input = new MemoryStream(rented, 0, source.Length, writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            var total = 0;
            var crc = 0u;
            Span<byte> probe = stackalloc byte[1];
            while (true)
            {
                var room = Math.Min(ChunkSize, maxOutputBytes - total);
                if (room == 0)
                {
                    if (gzip.Read(probe) > 0)
                    {
                        CodecErrors.ThrowLimit(Name, maxOutputBytes);
                    }

                    CheckTrailer(source, crc, total);
                    return total;
                }

                var span = destination.GetSpan(room)[..room];
                var read = gzip.Read(span);
                if (read == 0)
                {
                    CheckTrailer(source, crc, total);
                    return total;
                }

                crc = Crc32Ieee.Append(crc, span[..read]);
                destination.Advance(read);
                total += read;
            }
        }
        catch (InvalidDataException ex)
        {
            CodecErrors.ThrowCorrupt(Name, ex);
            return 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// GZipStream ends quietly at a truncated stream, whereas Java's GZIPInputStream raises EOFException, so the
    /// trailer (CRC-32 and ISIZE of the output, RFC 1952 §2.3.1) is checked here. Every Kafka client writes one
    /// gzip member per batch, so the trailer is the last 8 bytes; a concatenated multi-member payload fails this
    /// check and is rejected.
    /// </summary>
    private static void CheckTrailer(ReadOnlySpan<byte> source, uint crc, int total)
    {
        var trailer = source[^8..];
        if (BinaryPrimitives.ReadUInt32LittleEndian(trailer) != crc ||
            BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]) != (uint)total)
        {
            CodecErrors.ThrowCorrupt(Name, "the stream is truncated or its CRC-32/ISIZE trailer does not match.");
        }
    }
}
