using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Text;

namespace Lockstep.Protocol.Primitives;

/// <summary>
/// A forward-only reader of Kafka's wire primitives over one fully buffered frame.
/// </summary>
/// <remarks>
/// <para>Decode safety (style-guide.md §3.3): every length prefix and element count is checked against the bytes
/// that remain <em>before</em> anything is allocated, so a hostile length such as 2^31-1 costs nothing but an
/// exception. Every failure is a <see cref="KafkaProtocolException"/>.</para>
/// <para>When the reader is built over <see cref="ReadOnlyMemory{T}"/>, <see cref="ReadRecords"/> returns a slice
/// of that memory without copying; the slice is valid only as long as the caller keeps the frame's buffer.
/// When built over a span, it copies.</para>
/// </remarks>
public ref struct KafkaReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly ReadOnlyMemory<byte> _memory;
    private readonly ReadOnlySpan<byte> _span;
    private readonly bool _hasMemory;
    private int _position;

    /// <summary>Reads from <paramref name="memory"/>; record payloads are returned as slices of it.</summary>
    public KafkaReader(ReadOnlyMemory<byte> memory)
    {
        _memory = memory;
        _span = memory.Span;
        _hasMemory = true;
        _position = 0;
    }

    /// <summary>Reads from <paramref name="span"/>; record payloads are copied out.</summary>
    public KafkaReader(ReadOnlySpan<byte> span)
    {
        _memory = default;
        _span = span;
        _hasMemory = false;
        _position = 0;
    }

    /// <summary>Offset of the next byte to read.</summary>
    public readonly int Position => _position;

    /// <summary>Bytes not yet read.</summary>
    public readonly int Remaining => _span.Length - _position;

    /// <summary>True when every byte has been read.</summary>
    public readonly bool End => _position >= _span.Length;

    /// <summary>The bytes not yet read, without consuming them.</summary>
    public readonly ReadOnlySpan<byte> UnreadSpan => _span[_position..];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Take(int count)
    {
        if ((uint)count > (uint)(_span.Length - _position))
        {
            ThrowHelper.ThrowTruncated(count, _position, _span.Length - _position);
        }

        var slice = _span.Slice(_position, count);
        _position += count;
        return slice;
    }

    /// <summary>Skips <paramref name="count"/> bytes.</summary>
    public void Skip(int count) => Take(count);

    /// <summary>Reads <paramref name="count"/> raw bytes as a span over the input (no copy).</summary>
    public ReadOnlySpan<byte> ReadRawSpan(int count) => Take(count);

    /// <summary>Reads an INT8.</summary>
    public sbyte ReadInt8() => (sbyte)Take(1)[0];

    /// <summary>Reads a BOOLEAN: Kafka treats any non-zero byte as true.</summary>
    public bool ReadBoolean() => Take(1)[0] != 0;

    /// <summary>Reads a big-endian INT16.</summary>
    public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(Take(2));

    /// <summary>Reads a big-endian UINT16.</summary>
    public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    /// <summary>Reads a big-endian INT32.</summary>
    public int ReadInt32() => BinaryPrimitives.ReadInt32BigEndian(Take(4));

    /// <summary>Reads a big-endian UINT32.</summary>
    public uint ReadUInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    /// <summary>Reads a big-endian INT64.</summary>
    public long ReadInt64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    /// <summary>Reads a big-endian IEEE-754 FLOAT64.</summary>
    public double ReadFloat64() => BinaryPrimitives.ReadDoubleBigEndian(Take(8));

    /// <summary>
    /// Reads a UUID: 16 bytes, most significant half first (Java's <c>Uuid</c>). Kafka's ZERO_UUID maps to
    /// <see cref="Guid.Empty"/>.
    /// </summary>
    public Guid ReadUuid() => new(Take(16), bigEndian: true);

    /// <summary>Reads an UNSIGNED_VARINT of at most 5 bytes whose value fits in 32 bits.</summary>
    public int ReadUnsignedVarInt()
    {
        uint result = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (_position >= _span.Length)
            {
                ThrowHelper.ThrowTruncated(1, _position, 0);
            }

            var b = _span[_position++];
            if (shift == 28 && (b & 0xF0) != 0)
            {
                ThrowHelper.ThrowProtocol($"Unsigned varint at offset {_position - 1} overflows 32 bits.");
            }

            result |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (int)result;
            }
        }

        ThrowHelper.ThrowProtocol("Unsigned varint is longer than 5 bytes.");
        return 0;
    }

    /// <summary>Reads an unsigned varlong of at most 10 bytes.</summary>
    public ulong ReadUnsignedVarLong()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _span.Length)
            {
                ThrowHelper.ThrowTruncated(1, _position, 0);
            }

            var b = _span[_position++];
            if (shift == 63 && (b & 0xFE) != 0)
            {
                ThrowHelper.ThrowProtocol($"Unsigned varlong at offset {_position - 1} overflows 64 bits.");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }

        ThrowHelper.ThrowProtocol("Unsigned varlong is longer than 10 bytes.");
        return 0;
    }

    /// <summary>Reads a zigzag-encoded VARINT (record format).</summary>
    public int ReadVarInt()
    {
        var raw = (uint)ReadUnsignedVarInt();
        return (int)(raw >> 1) ^ -(int)(raw & 1);
    }

    /// <summary>Reads a zigzag-encoded VARLONG (record format).</summary>
    public long ReadVarLong()
    {
        var raw = ReadUnsignedVarLong();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    private string DecodeUtf8(int length) => length == 0 ? string.Empty : StrictUtf8.GetString(Take(length));

    /// <summary>Reads a STRING (INT16 length). A null (length -1) is rejected.</summary>
    public string ReadString() => ReadNullableString() ?? ThrowNullString();

    /// <summary>Reads a NULLABLE_STRING (INT16 length, -1 for null).</summary>
    public string? ReadNullableString()
    {
        int length = ReadInt16();
        if (length < 0)
        {
            if (length != -1)
            {
                ThrowHelper.ThrowProtocol($"Invalid string length {length} at offset {_position - 2}.");
            }

            return null;
        }

        return DecodeUtf8(length);
    }

    /// <summary>Reads a COMPACT_STRING (UNSIGNED_VARINT length + 1). A null is rejected.</summary>
    public string ReadCompactString() => ReadCompactNullableString() ?? ThrowNullString();

    /// <summary>Reads a COMPACT_NULLABLE_STRING (UNSIGNED_VARINT length + 1, 0 for null).</summary>
    public string? ReadCompactNullableString()
    {
        var lengthPlusOne = (uint)ReadUnsignedVarInt();
        if (lengthPlusOne == 0)
        {
            return null;
        }

        var length = lengthPlusOne - 1;
        if (length > short.MaxValue)
        {
            // Java's readString caps strings at Short.MAX_VALUE bytes in every encoding.
            ThrowHelper.ThrowProtocol($"String length {length} exceeds the maximum of {short.MaxValue}.");
        }

        return DecodeUtf8((int)length);
    }

    private static string ThrowNullString()
    {
        ThrowHelper.ThrowProtocol("Non-nullable string was null.");
        return null!;
    }

    /// <summary>Reads BYTES (INT32 length). A null is rejected.</summary>
    public byte[] ReadBytes() => ReadNullableBytes() ?? ThrowNullBytes();

    /// <summary>Reads NULLABLE_BYTES (INT32 length, -1 for null), copying them out.</summary>
    public byte[]? ReadNullableBytes()
    {
        var length = ReadInt32();
        if (length < 0)
        {
            if (length != -1)
            {
                ThrowHelper.ThrowProtocol($"Invalid bytes length {length} at offset {_position - 4}.");
            }

            return null;
        }

        return Take(length).ToArray();
    }

    /// <summary>Reads COMPACT_BYTES. A null is rejected.</summary>
    public byte[] ReadCompactBytes() => ReadCompactNullableBytes() ?? ThrowNullBytes();

    /// <summary>Reads COMPACT_NULLABLE_BYTES (UNSIGNED_VARINT length + 1, 0 for null), copying them out.</summary>
    public byte[]? ReadCompactNullableBytes()
    {
        var lengthPlusOne = (uint)ReadUnsignedVarInt();
        if (lengthPlusOne == 0)
        {
            return null;
        }

        return Take(CheckedLength(lengthPlusOne - 1)).ToArray();
    }

    private static byte[] ThrowNullBytes()
    {
        ThrowHelper.ThrowProtocol("Non-nullable bytes field was null.");
        return null!;
    }

    /// <summary>
    /// Reads a RECORDS field (nullable bytes holding record batches). Returns a slice of the input memory when
    /// the reader was built over memory, so large produce and fetch payloads are not copied.
    /// </summary>
    /// <param name="compact">True in flexible versions (COMPACT_RECORDS).</param>
    public ReadOnlyMemory<byte>? ReadRecords(bool compact)
    {
        int length;
        if (compact)
        {
            var lengthPlusOne = (uint)ReadUnsignedVarInt();
            if (lengthPlusOne == 0)
            {
                return null;
            }

            length = CheckedLength(lengthPlusOne - 1);
        }
        else
        {
            length = ReadInt32();
            if (length < 0)
            {
                if (length != -1)
                {
                    ThrowHelper.ThrowProtocol($"Invalid records length {length} at offset {_position - 4}.");
                }

                return null;
            }
        }

        var start = _position;
        var span = Take(length);
        return _hasMemory ? _memory.Slice(start, length) : span.ToArray();
    }

    private int CheckedLength(uint length)
    {
        if (length > (uint)(_span.Length - _position))
        {
            ThrowHelper.ThrowTruncated(length > int.MaxValue ? int.MaxValue : (int)length, _position, Remaining);
        }

        return (int)length;
    }

    /// <summary>
    /// Reads an ARRAY count (INT32, -1 for null). Returns -1 for null. A count larger than the remaining bytes
    /// divided by <paramref name="minElementSize"/> is rejected before any allocation.
    /// </summary>
    public int ReadArrayLength(int minElementSize = 1)
    {
        var count = ReadInt32();
        if (count < 0)
        {
            if (count != -1)
            {
                ThrowHelper.ThrowProtocol($"Invalid array length {count} at offset {_position - 4}.");
            }

            return -1;
        }

        CheckCount(count, minElementSize);
        return count;
    }

    /// <summary>
    /// Reads a COMPACT_ARRAY count (UNSIGNED_VARINT count + 1, 0 for null). Returns -1 for null. Counts that the
    /// remaining input cannot hold are rejected before any allocation.
    /// </summary>
    public int ReadCompactArrayLength(int minElementSize = 1)
    {
        var countPlusOne = (uint)ReadUnsignedVarInt();
        if (countPlusOne == 0)
        {
            return -1;
        }

        var count = countPlusOne - 1;
        if (count > int.MaxValue)
        {
            ThrowHelper.ThrowProtocol($"Invalid compact array length {count}.");
        }

        CheckCount((int)count, minElementSize);
        return (int)count;
    }

    private readonly void CheckCount(int count, int minElementSize)
    {
        if (minElementSize < 1)
        {
            minElementSize = 1;
        }

        if ((long)count * minElementSize > Remaining)
        {
            ThrowHelper.ThrowProtocol(
                $"Array of {count} element(s) of at least {minElementSize} byte(s) cannot fit in the " +
                $"{Remaining} byte(s) that remain at offset {_position}.");
        }
    }

    /// <summary>
    /// Reads a tagged-field section (KIP-482): a count, then (tag, size, bytes) triples in strictly increasing
    /// tag order. Each known tag is handed to <paramref name="readKnown"/>, which must consume exactly the
    /// field's bytes and return true; unknown tags are appended to <paramref name="unknown"/> (allocated on first
    /// use) so they survive a re-encode.
    /// </summary>
    public void ReadTaggedFields<TState>(
        ref TState state,
        KnownTaggedFieldReader<TState> readKnown,
        ref List<TaggedField>? unknown)
    {
        var count = ReadUnsignedVarInt();
        CheckCount(count, 2);
        var lastTag = -1;
        for (var i = 0; i < count; i++)
        {
            var tag = ReadUnsignedVarInt();
            if (tag <= lastTag)
            {
                ThrowHelper.ThrowProtocol($"Tagged field {tag} is out of order or repeated after tag {lastTag}.");
            }

            lastTag = tag;
            var size = CheckedLength((uint)ReadUnsignedVarInt());
            var end = _position + size;
            if (readKnown(ref this, ref state, tag, size))
            {
                if (_position != end)
                {
                    ThrowHelper.ThrowProtocol(
                        $"Tagged field {tag} declared {size} byte(s) but its value used {_position - (end - size)}.");
                }
            }
            else
            {
                ReadUnknownTaggedField(tag, size, ref unknown);
            }
        }
    }

    /// <summary>
    /// Reads the count that opens a tagged-field section. For generated code that loops inline; each field then
    /// starts with <see cref="ReadTaggedFieldHeader"/>.
    /// </summary>
    public int ReadTaggedFieldCount()
    {
        var count = ReadUnsignedVarInt();
        CheckCount(count, 2);
        return count;
    }

    /// <summary>
    /// Reads a tagged field's tag and size, enforcing strictly increasing tags (<paramref name="lastTag"/> starts
    /// at -1) and that the size fits in the input.
    /// </summary>
    public int ReadTaggedFieldHeader(ref int lastTag, out int size)
    {
        var tag = ReadUnsignedVarInt();
        if (tag <= lastTag)
        {
            ThrowHelper.ThrowProtocol($"Tagged field {tag} is out of order or repeated after tag {lastTag}.");
        }

        lastTag = tag;
        size = CheckedLength((uint)ReadUnsignedVarInt());
        return tag;
    }

    /// <summary>Fails unless a known tagged field that began at <paramref name="start"/> used exactly
    /// <paramref name="size"/> bytes.</summary>
    public readonly void EndTaggedField(int tag, int start, int size)
    {
        if (_position != start + size)
        {
            ThrowHelper.ThrowProtocol($"Tagged field {tag} declared {size} byte(s) but its value used {_position - start}.");
        }
    }

    /// <summary>Keeps an unknown tagged field's bytes (copied) so a re-encode is byte-identical.</summary>
    public void ReadUnknownTaggedField(int tag, int size, ref List<TaggedField>? unknown)
    {
        var bytes = Take(size).ToArray();
        (unknown ??= []).Add(new TaggedField(tag, bytes));
    }

    /// <summary>
    /// Skips a tagged-field section whose fields are all unknown, keeping them in <paramref name="unknown"/>.
    /// </summary>
    public void ReadUnknownTaggedFields(ref List<TaggedField>? unknown)
    {
        var none = 0;
        ReadTaggedFields(ref none, static (ref KafkaReader _, ref int _, int _, int _) => false, ref unknown);
    }

    /// <summary>Fails unless the whole input has been consumed.</summary>
    public readonly void ExpectEnd(string what)
    {
        if (!End)
        {
            ThrowHelper.ThrowProtocol($"{what}: {Remaining} unexpected trailing byte(s) at offset {_position}.");
        }
    }
}

/// <summary>
/// Reads one known tagged field into <paramref name="state"/>; returns false when <paramref name="tag"/> is not
/// known, leaving the reader untouched.
/// </summary>
public delegate bool KnownTaggedFieldReader<TState>(ref KafkaReader reader, ref TState state, int tag, int size);
