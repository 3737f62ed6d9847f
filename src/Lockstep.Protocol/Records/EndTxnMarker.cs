using System;
using System.Buffers.Binary;

namespace Lockstep.Protocol.Records;

/// <summary>
/// The value of a COMMIT or ABORT control record: Version int16 then CoordinatorEpoch int32, big-endian.
/// Hand-written from Kafka's <c>EndTxnMarker.json</c> (clients/src/main/resources/common/message/), valid
/// version 0; Kafka's <c>EndTransactionMarker.java</c> prefixes the version.
/// </summary>
/// <param name="Version">Value version; Kafka writes 0 and parses higher versions as version 0.</param>
/// <param name="CoordinatorEpoch">Epoch of the transaction coordinator that wrote the marker; the broker fences
/// markers from stale coordinators with it.</param>
public readonly record struct EndTxnMarker(short Version, int CoordinatorEpoch)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 6;

    /// <summary>The version Kafka writes.</summary>
    public const short CurrentVersion = 0;

    /// <summary>Writes the marker into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt16BigEndian(destination, Version);
        BinaryPrimitives.WriteInt32BigEndian(destination[2..], CoordinatorEpoch);
    }

    /// <summary>Parses a marker value; fewer than 6 bytes or a negative version is invalid.</summary>
    public static EndTxnMarker Read(ReadOnlySpan<byte> value)
    {
        if (value.Length < Size)
        {
            ThrowHelper.ThrowProtocol(
                $"End transaction marker has {value.Length} byte(s); at least {Size} are needed.");
        }

        var version = BinaryPrimitives.ReadInt16BigEndian(value);
        if (version < 0)
        {
            ThrowHelper.ThrowProtocol($"End transaction marker has an invalid version {version}.");
        }

        return new EndTxnMarker(version, BinaryPrimitives.ReadInt32BigEndian(value[2..]));
    }
}
