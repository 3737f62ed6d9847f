using System;
using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;
using Lockstep.Protocol.Compression.Internal;
using Lockstep.Protocol.Records;

namespace Lockstep.Protocol.Compression;

/// <summary>
/// LZ4, compression type 3, in the standard LZ4 frame format with the header checksum computed correctly (KIP-57;
/// magic-2 batches never use the pre-KIP-57 "broken" checksum). Blocks are encoded with K4os's LZ4 block codec;
/// the frame is written here so that its bytes match Kafka's <c>Lz4BlockOutputStream.java</c> exactly.
/// </summary>
/// <remarks>
/// <para>Written frame: magic 0x184D2204 (little-endian), FLG 0x60 (version 01, independent blocks, no block
/// checksum, no content size, no content checksum), BD 0x40 (64 KiB maximum block), header checksum
/// (XXH32(FLG, BD) &gt;&gt; 8) &amp; 0xFF, then blocks of at most 64 KiB of input, each a little-endian uint32 size
/// (high bit set when the block is stored uncompressed because compression did not shrink it) and its data, then
/// a zero end mark.</para>
/// <para>Read: any valid frame (linked or independent blocks, 64 KiB to 4 MiB blocks, block and content checksums,
/// content size), concatenated frames and skippable frames. Dictionary ids are rejected because Kafka has no way
/// to convey a dictionary.</para>
/// </remarks>
public sealed class Lz4FrameCodec : ICompressionCodec
{
    /// <summary>LZ4 frame magic number.</summary>
    public const uint FrameMagic = 0x184D2204;

    /// <summary>FLG byte Java writes: version 01 (bits 6-7) and block independence (bit 5).</summary>
    public const byte JavaFlg = 0x60;

    /// <summary>BD byte Java writes: block maximum size id 4, i.e. 64 KiB (bits 4-6).</summary>
    public const byte JavaBd = 0x40;

    /// <summary>Input bytes per block (Lz4BlockOutputStream.BLOCKSIZE_64KB).</summary>
    public const int BlockSize = 64 * 1024;

    private const string Name = "lz4";
    private const uint SkippableMagicMask = 0xFFFFFFF0;
    private const uint SkippableMagic = 0x184D2A50;
    private const uint UncompressedBit = 0x80000000;
    private const int WindowSize = 64 * 1024;

    /// <inheritdoc />
    public CompressionType Type => CompressionType.Lz4;

    /// <inheritdoc />
    public void Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var header = destination.GetSpan(7);
        BinaryPrimitives.WriteUInt32LittleEndian(header, FrameMagic);
        header[4] = JavaFlg;
        header[5] = JavaBd;
        header[6] = HeaderChecksum(header[4..6]);
        destination.Advance(7);

        while (!source.IsEmpty)
        {
            var block = source[..Math.Min(BlockSize, source.Length)];
            source = source[block.Length..];
            var span = destination.GetSpan(4 + Math.Max(LZ4Codec.MaximumOutputSize(block.Length), block.Length));
            var encoded = LZ4Codec.Encode(block, span[4..], LZ4Level.L00_FAST);
            if (encoded <= 0 || encoded >= block.Length)
            {
                // Lz4BlockOutputStream stores a block raw when compression does not shrink it.
                block.CopyTo(span[4..]);
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)block.Length | UncompressedBit);
                destination.Advance(4 + block.Length);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)encoded);
                destination.Advance(4 + encoded);
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination.GetSpan(4), 0);
        destination.Advance(4);
    }

    /// <summary>The frame descriptor checksum byte: the second byte of XXH32 (seed 0) over the descriptor.</summary>
    internal static byte HeaderChecksum(ReadOnlySpan<byte> descriptor) =>
        (byte)((XxHash32.Hash(descriptor) >> 8) & 0xFF);

    /// <inheritdoc />
    public int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxOutputBytes)
    {
        ArgumentNullException.ThrowIfNull(destination);
        CodecErrors.ThrowIfBadLimit(maxOutputBytes);
        CodecErrors.ThrowIfEmpty(Name, source);
        byte[]? window = null;
        try
        {
            var total = 0;
            while (!source.IsEmpty)
            {
                if (source.Length < 4)
                {
                    CodecErrors.ThrowCorrupt(Name, "a frame magic is truncated.");
                }

                var magic = BinaryPrimitives.ReadUInt32LittleEndian(source);
                if ((magic & SkippableMagicMask) == SkippableMagic)
                {
                    source = SkipSkippableFrame(source);
                    continue;
                }

                if (magic != FrameMagic)
                {
                    CodecErrors.ThrowCorrupt(Name, $"unknown frame magic 0x{magic:X8}.");
                }

                total += DecompressFrame(ref source, destination, maxOutputBytes - total, maxOutputBytes, ref window);
            }

            return total;
        }
        finally
        {
            if (window is not null)
            {
                ArrayPool<byte>.Shared.Return(window);
            }
        }
    }

    private static ReadOnlySpan<byte> SkipSkippableFrame(ReadOnlySpan<byte> source)
    {
        if (source.Length < 8)
        {
            CodecErrors.ThrowCorrupt(Name, "a skippable frame header is truncated.");
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(source[4..]);
        if (size > (uint)(source.Length - 8))
        {
            CodecErrors.ThrowCorrupt(Name, "a skippable frame runs past the payload.");
        }

        return source[(8 + (int)size)..];
    }

    private static int DecompressFrame(
        ref ReadOnlySpan<byte> source,
        IBufferWriter<byte> destination,
        int remainingLimit,
        int maxOutputBytes,
        ref byte[]? window)
    {
        if (source.Length < 7)
        {
            CodecErrors.ThrowCorrupt(Name, "the frame header is truncated.");
        }

        var flg = source[4];
        var bd = source[5];
        if (flg >> 6 != 1)
        {
            CodecErrors.ThrowCorrupt(Name, $"unsupported frame version {flg >> 6}.");
        }

        if ((flg & 0x02) != 0 || (bd & 0x8F) != 0)
        {
            CodecErrors.ThrowCorrupt(Name, "reserved frame descriptor bits are set.");
        }

        var independent = (flg & 0x20) != 0;
        var blockChecksum = (flg & 0x10) != 0;
        var hasContentSize = (flg & 0x08) != 0;
        var contentChecksum = (flg & 0x04) != 0;
        if ((flg & 0x01) != 0)
        {
            CodecErrors.ThrowCorrupt(Name, "frames with a dictionary id are not supported.");
        }

        var blockSizeId = (bd >> 4) & 0x07;
        if (blockSizeId < 4)
        {
            CodecErrors.ThrowCorrupt(Name, $"invalid block maximum size id {blockSizeId}.");
        }

        var maxBlockSize = 1 << ((2 * blockSizeId) + 8);
        var descriptorLength = 2 + (hasContentSize ? 8 : 0);
        if (source.Length < 4 + descriptorLength + 1)
        {
            CodecErrors.ThrowCorrupt(Name, "the frame header is truncated.");
        }

        var descriptor = source.Slice(4, descriptorLength);
        if (HeaderChecksum(descriptor) != source[4 + descriptorLength])
        {
            CodecErrors.ThrowCorrupt(Name, "the frame header checksum does not match.");
        }

        var contentSize = hasContentSize ? BinaryPrimitives.ReadUInt64LittleEndian(descriptor[2..]) : 0UL;
        if (hasContentSize && contentSize > (ulong)remainingLimit)
        {
            CodecErrors.ThrowLimit(Name, maxOutputBytes);
        }

        source = source[(4 + descriptorLength + 1)..];
        var hash = contentChecksum ? XxHash32.Create() : default;
        var windowLength = 0;
        if (!independent)
        {
            window ??= ArrayPool<byte>.Shared.Rent(WindowSize);
        }

        var total = 0;
        while (true)
        {
            if (source.Length < 4)
            {
                CodecErrors.ThrowCorrupt(Name, "a block size is truncated.");
            }

            var word = BinaryPrimitives.ReadUInt32LittleEndian(source);
            source = source[4..];
            if (word == 0)
            {
                break;
            }

            var stored = (word & UncompressedBit) != 0;
            var size = (int)(word & ~UncompressedBit);
            if (size > maxBlockSize || size > source.Length - (blockChecksum ? 4 : 0))
            {
                CodecErrors.ThrowCorrupt(Name, $"block size {size} exceeds the block maximum or the payload.");
            }

            var data = source[..size];
            source = source[size..];
            if (blockChecksum)
            {
                if (XxHash32.Hash(data) != BinaryPrimitives.ReadUInt32LittleEndian(source))
                {
                    CodecErrors.ThrowCorrupt(Name, "a block checksum does not match.");
                }

                source = source[4..];
            }

            var room = remainingLimit - total;
            int produced;
            Span<byte> output;
            if (stored)
            {
                if (size > room)
                {
                    CodecErrors.ThrowLimit(Name, maxOutputBytes);
                }

                output = size == 0 ? default : destination.GetSpan(size)[..size];
                data.CopyTo(output);
                produced = size;
            }
            else
            {
                // Never ask for more than the limit allows; a block that needs more fails to decode into it. Nor
                // more than the block can encode: each byte adds at most 255 to a length (lz4_Block_format.md), so
                // a block of n bytes yields at most 255n, and a tiny hostile block cannot rent a 4 MiB buffer.
                var capacity = (int)Math.Min(Math.Min(maxBlockSize, room), 255L * size);
                output = capacity == 0 ? default : destination.GetSpan(capacity)[..capacity];
                produced = independent || windowLength == 0
                    ? LZ4Codec.Decode(data, output)
                    : LZ4Codec.Decode(data, output, window.AsSpan(0, windowLength));
                if (produced < 0)
                {
                    if (capacity < maxBlockSize)
                    {
                        CodecErrors.ThrowCorrupt(
                            Name, $"a block is malformed or decompresses past the {maxOutputBytes}-byte limit.");
                    }

                    CodecErrors.ThrowCorrupt(Name, "a block is malformed.");
                }

                output = output[..produced];
            }

            if (contentChecksum)
            {
                hash.Append(output);
            }

            if (!independent)
            {
                windowLength = Slide(window!, windowLength, output);
            }

            destination.Advance(produced);
            total += produced;
        }

        if (contentChecksum)
        {
            if (source.Length < 4)
            {
                CodecErrors.ThrowCorrupt(Name, "the content checksum is truncated.");
            }

            if (hash.Digest() != BinaryPrimitives.ReadUInt32LittleEndian(source))
            {
                CodecErrors.ThrowCorrupt(Name, "the content checksum does not match.");
            }

            source = source[4..];
        }

        if (hasContentSize && (ulong)total != contentSize)
        {
            CodecErrors.ThrowCorrupt(Name, $"the frame declared {contentSize} byte(s) but held {total}.");
        }

        return total;
    }

    /// <summary>Keeps the last 64 KiB of output, the history a linked block may refer back into.</summary>
    private static int Slide(byte[] window, int windowLength, ReadOnlySpan<byte> output)
    {
        if (output.Length >= WindowSize)
        {
            output[^WindowSize..].CopyTo(window);
            return WindowSize;
        }

        var keep = Math.Min(windowLength, WindowSize - output.Length);
        window.AsSpan(windowLength - keep, keep).CopyTo(window);
        output.CopyTo(window.AsSpan(keep));
        return keep + output.Length;
    }
}
