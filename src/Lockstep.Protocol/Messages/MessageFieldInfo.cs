namespace Lockstep.Protocol.Messages;

/// <summary>An inclusive version range from a Kafka JSON schema; empty when <see cref="Lowest"/> exceeds
/// <see cref="Highest"/>, and <c>"N+"</c> is stored with <see cref="short.MaxValue"/> as the upper bound.</summary>
internal readonly record struct MessageVersionRange(short Lowest, short Highest)
{
    /// <summary>True when <paramref name="version"/> is in the range.</summary>
    public bool Contains(short version) => version >= Lowest && version <= Highest;
}

/// <summary>
/// The JSON facts of one generated field (see <see cref="MessageMetadata"/>): its name (also the C# property name),
/// JSON type, and the versions in which it exists, may be null, and is tagged.
/// </summary>
internal sealed record MessageFieldInfo(
    string Name,
    string Type,
    MessageVersionRange Versions,
    MessageVersionRange NullableVersions,
    MessageVersionRange TaggedVersions,
    int Tag,
    bool Ignorable);
