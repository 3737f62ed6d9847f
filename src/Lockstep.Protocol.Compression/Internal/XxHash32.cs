using System;
using System.Buffers.Binary;
using System.Numerics;

namespace Lockstep.Protocol.Compression.Internal;

/// <summary>
/// Streaming XXH32 (seed 0), the checksum of the LZ4 frame format: the header checksum byte, optional block
/// checksums and the optional content checksum. Written here because System.IO.Hashing is a package and K4os's
/// hash lives in a separate one; the algorithm is the reference one from the xxHash specification.
/// </summary>
internal struct XxHash32
{
    private const uint Prime1 = 2654435761u;
    private const uint Prime2 = 2246822519u;
    private const uint Prime3 = 3266489917u;
    private const uint Prime4 = 668265263u;
    private const uint Prime5 = 374761393u;

    private uint _v1;
    private uint _v2;
    private uint _v3;
    private uint _v4;
    private ulong _length;
    private Stripe _pending;
    private int _pendingCount;

    [System.Runtime.CompilerServices.InlineArray(16)]
    private struct Stripe
    {
        private byte _element0;
    }

    public static XxHash32 Create() => new()
    {
        _v1 = unchecked(Prime1 + Prime2),
        _v2 = Prime2,
        _v3 = 0,
        _v4 = unchecked(0u - Prime1),
    };

    public static uint Hash(ReadOnlySpan<byte> data)
    {
        var state = Create();
        state.Append(data);
        return state.Digest();
    }

    private static uint Round(uint acc, uint lane) =>
        BitOperations.RotateLeft(unchecked(acc + (lane * Prime2)), 13) * Prime1;

    private void ConsumeStripe(ReadOnlySpan<byte> stripe)
    {
        _v1 = Round(_v1, BinaryPrimitives.ReadUInt32LittleEndian(stripe));
        _v2 = Round(_v2, BinaryPrimitives.ReadUInt32LittleEndian(stripe[4..]));
        _v3 = Round(_v3, BinaryPrimitives.ReadUInt32LittleEndian(stripe[8..]));
        _v4 = Round(_v4, BinaryPrimitives.ReadUInt32LittleEndian(stripe[12..]));
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _length += (ulong)data.Length;
        Span<byte> pending = _pending;
        if (_pendingCount > 0)
        {
            var take = Math.Min(16 - _pendingCount, data.Length);
            data[..take].CopyTo(pending[_pendingCount..]);
            _pendingCount += take;
            data = data[take..];
            if (_pendingCount < 16)
            {
                return;
            }

            ConsumeStripe(pending);
            _pendingCount = 0;
        }

        while (data.Length >= 16)
        {
            ConsumeStripe(data);
            data = data[16..];
        }

        data.CopyTo(pending);
        _pendingCount = data.Length;
    }

    public readonly uint Digest()
    {
        uint h;
        if (_length >= 16)
        {
            h = BitOperations.RotateLeft(_v1, 1) + BitOperations.RotateLeft(_v2, 7)
                + BitOperations.RotateLeft(_v3, 12) + BitOperations.RotateLeft(_v4, 18);
        }
        else
        {
            h = Prime5;
        }

        h = unchecked(h + (uint)_length);
        ReadOnlySpan<byte> tail = ((ReadOnlySpan<byte>)_pending)[.._pendingCount];
        while (tail.Length >= 4)
        {
            h = BitOperations.RotateLeft(h + (BinaryPrimitives.ReadUInt32LittleEndian(tail) * Prime3), 17) * Prime4;
            tail = tail[4..];
        }

        foreach (var b in tail)
        {
            h = BitOperations.RotateLeft(h + (b * Prime5), 11) * Prime1;
        }

        h ^= h >> 15;
        h *= Prime2;
        h ^= h >> 13;
        h *= Prime3;
        h ^= h >> 16;
        return h;
    }
}
