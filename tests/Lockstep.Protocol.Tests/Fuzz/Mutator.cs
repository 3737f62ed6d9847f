using System.Buffers.Binary;

namespace Lockstep.Protocol.Tests.Fuzz;

/// <summary>
/// Seeded structure-unaware mutations in the spirit of libFuzzer's default mutators, biased towards what breaks
/// Kafka decoders: hostile length and count values (2^31-1, -2, varint maxima), the boundary bytes 0x00, 0xFF,
/// 0x7F and 0x80 (sign and varint continuation bits), truncation, and inserted or duplicated bytes that shift
/// every later field.
/// </summary>
internal sealed class Mutator(Random rng)
{
    /// <summary>Byte values at the edges of int8, sign and varint-continuation semantics.</summary>
    private static readonly byte[] InterestingBytes = [0x00, 0xFF, 0x7F, 0x80];

    /// <summary>
    /// Encodings that a length or count field may hold: INT32 2^31-1 and -2, INT16 2^15-1 and -2, UNSIGNED_VARINT
    /// 2^31-1 and 2^32-1, and an over-long varint (six continuation bytes).
    /// </summary>
    public static readonly byte[][] HostileLengths =
    [
        [0x7F, 0xFF, 0xFF, 0xFF],
        [0xFF, 0xFF, 0xFF, 0xFE],
        [0x7F, 0xFF],
        [0xFF, 0xFE],
        [0xFF, 0xFF, 0xFF, 0xFF, 0x07],
        [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
        [0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
    ];

    private readonly Random _rng = rng;

    /// <summary>Applies one to three random mutations to a copy of <paramref name="seed"/>.</summary>
    public byte[] Mutate(byte[] seed, out string description)
    {
        var data = new List<byte>(seed);
        var steps = 1 + (_rng.Next(4) == 0 ? _rng.Next(1, 3) : 0);
        var what = new List<string>(steps);
        for (var i = 0; i < steps; i++)
        {
            what.Add(MutateOnce(data));
        }

        description = string.Join(" + ", what);
        return [.. data];
    }

    private string MutateOnce(List<byte> data)
    {
        var op = data.Count == 0 ? 4 : _rng.Next(8);
        switch (op)
        {
            case 0:
            {
                var at = _rng.Next(data.Count);
                var bit = _rng.Next(8);
                data[at] ^= (byte)(1 << bit);
                return $"flip bit {bit} @{at}";
            }

            case 1:
            {
                var at = _rng.Next(data.Count);
                var value = InterestingBytes[_rng.Next(InterestingBytes.Length)];
                data[at] = value;
                return $"set 0x{value:X2} @{at}";
            }

            case 2:
            case 3:
            {
                // Hostile lengths are the main attack on allocation, so they get two of the eight slots.
                var pattern = HostileLengths[_rng.Next(HostileLengths.Length)];
                var at = _rng.Next(data.Count);
                for (var i = 0; i < pattern.Length; i++)
                {
                    if (at + i < data.Count)
                    {
                        data[at + i] = pattern[i];
                    }
                    else
                    {
                        data.Add(pattern[i]);
                    }
                }

                return $"length {Convert.ToHexString(pattern)} @{at}";
            }

            case 4:
            {
                var at = _rng.Next(data.Count + 1);
                var bytes = new byte[_rng.Next(1, 17)];
                _rng.NextBytes(bytes);
                data.InsertRange(at, bytes);
                return $"insert {Convert.ToHexString(bytes)} @{at}";
            }

            case 5:
            {
                var start = _rng.Next(data.Count);
                var length = _rng.Next(1, Math.Min(64, data.Count - start) + 1);
                var at = _rng.Next(data.Count + 1);
                data.InsertRange(at, data.GetRange(start, length));
                return $"duplicate [{start}..+{length}) @{at}";
            }

            case 6:
            {
                var at = _rng.Next(data.Count);
                data.RemoveRange(at, data.Count - at);
                return $"truncate @{at}";
            }

            default:
            {
                var start = _rng.Next(data.Count);
                var length = _rng.Next(1, Math.Min(16, data.Count - start) + 1);
                data.RemoveRange(start, length);
                return $"delete [{start}..+{length})";
            }
        }
    }

    /// <summary>Rewrites the INT32 size prefix at <paramref name="offset"/> to the bytes that follow it.</summary>
    public static void FixSizePrefix(byte[] frame, int offset = 0)
    {
        if (frame.Length >= offset + 4)
        {
            BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(offset), frame.Length - offset - 4);
        }
    }
}
