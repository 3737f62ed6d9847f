using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Text;

namespace Lockstep.Protocol.Primitives;

/// <summary>
/// A forward-only writer of Kafka's wire primitives into an <see cref="IBufferWriter{T}"/>.
/// </summary>
/// <remarks>
/// The writer asks its output for a span and fills it, committing bytes with <see cref="IBufferWriter{T}.Advance"/>
/// only when it needs a new span or when <see cref="Flush"/> is called; callers must call <see cref="Flush"/> once
/// they are done, as with <c>Utf8JsonWriter</c>. No method allocates on the managed heap, so encoding into a pooled
/// buffer is allocation-free (issue 2 benchmark goal).
/// </remarks>
public ref struct KafkaWriter
{
    private readonly IBufferWriter<byte> _output;
    private Span<byte> _span;
    private int _buffered;
    private long _committed;

    /// <summary>Writes into <paramref name="output"/>.</summary>
    public KafkaWriter(IBufferWriter<byte> output)
    {
        _output = output;
        _span = default;
        _buffered = 0;
        _committed = 0;
    }

    /// <summary>Bytes written so far, committed or not.</summary>
    public readonly long BytesWritten => _committed + _buffered;

    /// <summary>Commits buffered bytes to the output. Call once writing is finished.</summary>
    public void Flush()
    {
        if (_buffered > 0)
        {
            _output.Advance(_buffered);
            _committed += _buffered;
            _buffered = 0;
        }

        _span = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Reserve(int count)
    {
        if (_span.Length - _buffered < count)
        {
            Grow(count);
        }

        var slice = _span.Slice(_buffered, count);
        _buffered += count;
        return slice;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int count)
    {
        Flush();
        _span = _output.GetSpan(Math.Max(count, 256));
        if (_span.Length < count)
        {
            ThrowHelper.ThrowProtocol($"Output buffer returned {_span.Length} byte(s); {count} were needed.");
        }
    }

    /// <summary>Writes raw bytes.</summary>
    public void WriteRaw(scoped ReadOnlySpan<byte> bytes)
    {
        // Large payloads (record batches) are copied in chunks so the output never has to provide one huge span.
        while (bytes.Length > 0)
        {
            if (_span.Length - _buffered == 0)
            {
                Grow(Math.Min(bytes.Length, 64 * 1024));
            }

            var n = Math.Min(bytes.Length, _span.Length - _buffered);
            bytes[..n].CopyTo(_span[_buffered..]);
            _buffered += n;
            bytes = bytes[n..];
        }
    }

    /// <summary>Writes an INT8.</summary>
    public void WriteInt8(sbyte value) => Reserve(1)[0] = (byte)value;

    /// <summary>Writes a BOOLEAN as 0 or 1.</summary>
    public void WriteBoolean(bool value) => Reserve(1)[0] = value ? (byte)1 : (byte)0;

    /// <summary>Writes a big-endian INT16.</summary>
    public void WriteInt16(short value) => BinaryPrimitives.WriteInt16BigEndian(Reserve(2), value);

    /// <summary>Writes a big-endian UINT16.</summary>
    public void WriteUInt16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);

    /// <summary>Writes a big-endian INT32.</summary>
    public void WriteInt32(int value) => BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);

    /// <summary>Writes a big-endian UINT32.</summary>
    public void WriteUInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);

    /// <summary>Writes a big-endian INT64.</summary>
    public void WriteInt64(long value) => BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);

    /// <summary>Writes a big-endian FLOAT64.</summary>
    public void WriteFloat64(double value) => BinaryPrimitives.WriteDoubleBigEndian(Reserve(8), value);

    /// <summary>Writes a UUID, most significant half first.</summary>
    public void WriteUuid(Guid value)
    {
        if (!value.TryWriteBytes(Reserve(16), bigEndian: true, out _))
        {
            ThrowHelper.ThrowProtocol("Could not write UUID.");
        }
    }

    /// <summary>Writes an UNSIGNED_VARINT.</summary>
    public void WriteUnsignedVarInt(uint value)
    {
        var span = Reserve(VarIntSize(value));
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i] = (byte)value;
    }

    /// <summary>Writes an UNSIGNED_VARINT from a non-negative int.</summary>
    public void WriteUnsignedVarInt(int value) => WriteUnsignedVarInt((uint)value);

    /// <summary>Writes an unsigned varlong.</summary>
    public void WriteUnsignedVarLong(ulong value)
    {
        var span = Reserve(VarLongSize(value));
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i] = (byte)value;
    }

    /// <summary>Writes a zigzag VARINT.</summary>
    public void WriteVarInt(int value) => WriteUnsignedVarInt((uint)((value << 1) ^ (value >> 31)));

    /// <summary>Writes a zigzag VARLONG.</summary>
    public void WriteVarLong(long value) => WriteUnsignedVarLong((ulong)((value << 1) ^ (value >> 63)));

    /// <summary>Bytes an UNSIGNED_VARINT of <paramref name="value"/> takes.</summary>
    public static int VarIntSize(uint value) => ((31 - System.Numerics.BitOperations.LeadingZeroCount(value | 1)) / 7) + 1;

    /// <summary>Bytes an unsigned varlong of <paramref name="value"/> takes.</summary>
    public static int VarLongSize(ulong value) => ((63 - System.Numerics.BitOperations.LeadingZeroCount(value | 1)) / 7) + 1;

    /// <summary>Bytes a zigzag VARINT of <paramref name="value"/> takes.</summary>
    public static int ZigZagVarIntSize(int value) => VarIntSize((uint)((value << 1) ^ (value >> 31)));

    /// <summary>Bytes a zigzag VARLONG of <paramref name="value"/> takes.</summary>
    public static int ZigZagVarLongSize(long value) => VarLongSize((ulong)((value << 1) ^ (value >> 63)));

    private void WriteUtf8(string value, int length)
    {
        if (length == 0)
        {
            return;
        }

        if (length <= 4096)
        {
            var written = Encoding.UTF8.GetBytes(value, Reserve(length));
            System.Diagnostics.Debug.Assert(written == length, "UTF-8 length mismatch");
        }
        else
        {
            var rented = ArrayPool<byte>.Shared.Rent(length);
            var written = Encoding.UTF8.GetBytes(value, rented);
            WriteRaw(rented.AsSpan(0, written));
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static int Utf8Length(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            ThrowHelper.ThrowProtocol($"String of {length} UTF-8 bytes exceeds the maximum of {short.MaxValue}.");
        }

        return length;
    }

    /// <summary>Writes a STRING (or NULLABLE_STRING): INT16 length, -1 for null.</summary>
    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteInt16(-1);
            return;
        }

        var length = Utf8Length(value);
        WriteInt16((short)length);
        WriteUtf8(value, length);
    }

    /// <summary>Writes a COMPACT_STRING (or COMPACT_NULLABLE_STRING): UNSIGNED_VARINT length + 1, 0 for null.</summary>
    public void WriteCompactString(string? value)
    {
        if (value is null)
        {
            WriteUnsignedVarInt(0u);
            return;
        }

        var length = Utf8Length(value);
        WriteUnsignedVarInt((uint)length + 1);
        WriteUtf8(value, length);
    }

    /// <summary>Writes BYTES (or NULLABLE_BYTES): INT32 length, -1 for null.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value, bool isNull = false)
    {
        if (isNull)
        {
            WriteInt32(-1);
            return;
        }

        WriteInt32(value.Length);
        WriteRaw(value);
    }

    /// <summary>Writes BYTES from an array, null meaning a null field.</summary>
    public void WriteBytes(byte[]? value) => WriteBytes(value, value is null);

    /// <summary>Writes COMPACT_BYTES (or COMPACT_NULLABLE_BYTES).</summary>
    public void WriteCompactBytes(ReadOnlySpan<byte> value, bool isNull = false)
    {
        if (isNull)
        {
            WriteUnsignedVarInt(0u);
            return;
        }

        WriteUnsignedVarInt((uint)value.Length + 1);
        WriteRaw(value);
    }

    /// <summary>Writes COMPACT_BYTES from an array, null meaning a null field.</summary>
    public void WriteCompactBytes(byte[]? value) => WriteCompactBytes(value, value is null);

    /// <summary>Writes a RECORDS field (nullable bytes; compact in flexible versions).</summary>
    public void WriteRecords(ReadOnlyMemory<byte>? value, bool compact)
    {
        if (compact)
        {
            WriteCompactBytes(value.HasValue ? value.Value.Span : default, !value.HasValue);
        }
        else
        {
            WriteBytes(value.HasValue ? value.Value.Span : default, !value.HasValue);
        }
    }

    /// <summary>Writes an ARRAY count (INT32; -1 for null).</summary>
    public void WriteArrayLength(int count) => WriteInt32(count);

    /// <summary>Writes a COMPACT_ARRAY count (UNSIGNED_VARINT count + 1; 0 for null, passed as -1).</summary>
    public void WriteCompactArrayLength(int count) => WriteUnsignedVarInt((uint)(count + 1));

    /// <summary>Writes one tagged field whose value is already encoded.</summary>
    public void WriteTaggedField(int tag, scoped ReadOnlySpan<byte> data)
    {
        WriteUnsignedVarInt((uint)tag);
        WriteUnsignedVarInt((uint)data.Length);
        WriteRaw(data);
    }

    /// <summary>Writes an empty tagged-field section (a single zero byte).</summary>
    public void WriteEmptyTaggedFields() => WriteUnsignedVarInt(0u);

    /// <summary>Writes a tagged-field section holding only <paramref name="unknown"/> fields.</summary>
    public void WriteUnknownTaggedFields(List<TaggedField>? unknown)
    {
        if (unknown is null || unknown.Count == 0)
        {
            WriteUnsignedVarInt(0u);
            return;
        }

        WriteUnsignedVarInt((uint)unknown.Count);
        foreach (var field in unknown)
        {
            WriteTaggedField(field.Tag, field.Data.Span);
        }
    }
}
