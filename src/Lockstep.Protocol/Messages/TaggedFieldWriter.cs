using System.Collections.Generic;
using Lockstep.Protocol.Primitives;

namespace Lockstep.Protocol.Messages;

/// <summary>
/// Interleaves unknown tagged fields with known ones when a generated struct is written, so the section stays in
/// ascending tag order. This mirrors Kafka's <c>RawTaggedFieldWriter.writeRawTags</c>
/// (<c>clients/src/main/java/org/apache/kafka/common/protocol/types/RawTaggedFieldWriter.java</c>).
/// </summary>
internal static class TaggedFieldWriter
{
    /// <summary>
    /// Writes the unknown fields from <paramref name="index"/> onward whose tag is below <paramref name="nextTag"/>,
    /// advancing <paramref name="index"/>. Pass <see cref="int.MaxValue"/> to write all that remain.
    /// </summary>
    public static void WriteUnknownBefore(ref KafkaWriter writer, List<TaggedField>? unknown, ref int index, int nextTag)
    {
        if (unknown is null)
        {
            return;
        }

        while (index < unknown.Count && unknown[index].Tag < nextTag)
        {
            writer.WriteTaggedField(unknown[index].Tag, unknown[index].Data.Span);
            index++;
        }
    }
}
