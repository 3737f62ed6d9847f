using System;
using System.Buffers.Binary;
using System.Numerics;

namespace Lockstep.Protocol.Records;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of magic-2 record batches. Uses <see cref="BitOperations.Crc32C(uint, ulong)"/>,
/// which maps to the SSE4.2/ARMv8 instruction where available, so the Protocol project needs no package.
/// </summary>
public static class Crc32C
{
    /// <summary>Computes the CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFFu, data);

    /// <summary>Continues a running (non-inverted) CRC over <paramref name="data"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return crc;
    }

    /// <summary>
    /// Computes the CRC a whole batch should carry (bytes from Attributes to the end) and compares it with the
    /// stored one.
    /// </summary>
    public static bool IsValidBatch(ReadOnlySpan<byte> batch)
    {
        if (batch.Length < RecordBatchHeader.Size)
        {
            return false;
        }

        var stored = BinaryPrimitives.ReadUInt32BigEndian(batch[RecordBatchHeader.CrcOffset..]);
        return stored == Compute(batch[RecordBatchHeader.AttributesOffset..]);
    }
}
