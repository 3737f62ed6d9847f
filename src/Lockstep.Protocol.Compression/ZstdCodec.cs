using System;
using System.Buffers;
using Lockstep.Protocol.Compression.Internal;
using Lockstep.Protocol.Records;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace Lockstep.Protocol.Compression;

/// <summary>
/// Zstandard, compression type 4 (KIP-110), through ZstdSharp. Compresses at level 3, zstd's and Kafka's default
/// (<c>compression.zstd.level</c>, KIP-390). Decompression streams frame by frame so the size limit is enforced
/// as output is produced, and accepts concatenated and skippable frames as libzstd does.
/// </summary>
public sealed class ZstdCodec : ICompressionCodec
{
    /// <summary>Compression level used when writing (zstd's ZSTD_CLEVEL_DEFAULT).</summary>
    public const int DefaultLevel = 3;

    /// <summary>
    /// Largest window (log2) accepted: libzstd's ZSTD_WINDOWLOG_LIMIT_DEFAULT, the limit Java's zstd-jni applies,
    /// so any frame a Kafka producer writes at any level (up to 22, whose window is 2^27) is readable.
    /// </summary>
    private const int MaxWindowLog = 27;

    private const string Name = "zstd";
    private const int ChunkSize = 64 * 1024;

    // Compression and decompression contexts are expensive to create; one of each per thread.
    [ThreadStatic]
    private static Compressor? t_compressor;

    [ThreadStatic]
    private static Decompressor? t_decompressor;

    /// <inheritdoc />
    public CompressionType Type => CompressionType.Zstd;

    /// <inheritdoc />
    public void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var compressor = t_compressor ??= new Compressor(DefaultLevel);
        var span = destination.GetSpan(Compressor.GetCompressBound(source.Length));
        var written = compressor.Wrap(source, span);
        destination.Advance(written);
    }

    /// <inheritdoc />
    public int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxOutputBytes)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CodecErrors.ThrowIfBadLimit(maxOutputBytes);
        CodecErrors.ThrowIfEmpty(Name, source);
        var decompressor = t_decompressor ??= new Decompressor();
        try
        {
            decompressor.ResetStream();
            decompressor.SetParameter(ZSTD_dParameter.ZSTD_d_windowLogMax, WindowLogFor(maxOutputBytes));
            var total = 0;
            var stalls = 0;
            Span<byte> probe = stackalloc byte[1];
            while (true)
            {
                var room = Math.Min(ChunkSize, maxOutputBytes - total);
                OperationStatus status;
                int consumed;
                int written;
                if (room > 0)
                {
                    var span = destination.GetSpan(room)[..room];
                    status = decompressor.UnwrapStream(source, span, out consumed, out written);
                    destination.Advance(written);
                }
                else
                {
                    // At the limit: any further byte of output means the payload is too large.
                    status = decompressor.UnwrapStream(source, probe, out consumed, out written);
                    if (written > 0)
                    {
                        CodecErrors.ThrowLimit(Name, maxOutputBytes);
                    }
                }

                total += written;
                source = source[consumed..];
                if (status == OperationStatus.Done && source.IsEmpty)
                {
                    return total;
                }

                if (status == OperationStatus.NeedMoreData && source.IsEmpty)
                {
                    CodecErrors.ThrowCorrupt(Name, "the frame is truncated.");
                }

                stalls = consumed == 0 && written == 0 ? stalls + 1 : 0;
                if (stalls > 2)
                {
                    CodecErrors.ThrowCorrupt(Name, "the decoder made no progress.");
                }
            }
        }
        catch (ZstdException ex)
        {
            // Leave no half-decoded frame state behind for the next caller on this thread.
            decompressor.ResetStream();
            CodecErrors.ThrowCorrupt(Name, ex);
            return 0;
        }
        catch (KafkaProtocolException)
        {
            decompressor.ResetStream();
            throw;
        }
    }

    /// <summary>
    /// The window log to allow: enough for any frame that could honestly fit in <paramref name="maxOutputBytes"/>
    /// (a window never needs to exceed the content), doubled once, but at least 2^23 because a streaming producer
    /// (zstd-jni's ZstdOutputStream) does not know the content size and declares its level's full window (2^21 at
    /// level 3, 2^23 at level 19), and never more than <see cref="MaxWindowLog"/>. This bounds the native window
    /// buffer a tiny hostile frame can make zstd allocate when the caller's limit is small.
    /// </summary>
    private static int WindowLogFor(int maxOutputBytes)
    {
        var log = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)Math.Max(maxOutputBytes, 1) - 1) + 1;
        return Math.Clamp(log, 23, MaxWindowLog);
    }
}
