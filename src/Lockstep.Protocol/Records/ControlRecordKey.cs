using System;
using System.Buffers.Binary;

namespace Lockstep.Protocol.Records;

/// <summary>
/// The key of a control record: Version int16 then Type int16, big-endian. Hand-written from Kafka's
/// <c>ControlRecordTypeSchema.json</c> (clients/src/main/resources/common/message/), valid version 0.
/// </summary>
/// <param name="Version">Key version; Kafka writes 0 and parses higher versions as version 0.</param>
/// <param name="Type">The control record type.</param>
public readonly record struct ControlRecordKey(short Version, ControlRecordType Type)
{
    /// <summary>Encoded size in bytes.</summary>
    public const int Size = 4;

    /// <summary>The version Kafka writes.</summary>
    public const short CurrentVersion = 0;

    /// <summary>Writes the key into the first <see cref="Size"/> bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt16BigEndian(destination, Version);
        BinaryPrimitives.WriteInt16BigEndian(destination[2..], (short)Type);
    }

    /// <summary>
    /// Parses a control record key. As in <c>ControlRecordType.parse</c>, fewer than 4 bytes or a negative version
    /// is invalid, and a newer version is read as version 0 (its extra bytes are ignored).
    /// </summary>
    public static ControlRecordKey Read(ReadOnlySpan<byte> key)
    {
        if (key.Length < Size)
        {
            ThrowHelper.ThrowProtocol($"Control record key has {key.Length} byte(s); at least {Size} are needed.");
        }

        var version = BinaryPrimitives.ReadInt16BigEndian(key);
        if (version < 0)
        {
            ThrowHelper.ThrowProtocol($"Control record key has an invalid version {version}.");
        }

        return new ControlRecordKey(version, (ControlRecordType)BinaryPrimitives.ReadInt16BigEndian(key[2..]));
    }
}
