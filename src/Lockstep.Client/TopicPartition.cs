namespace Lockstep.Client;

/// <summary>A partition of a topic, the unit of ordering and of offsets in Kafka.</summary>
/// <param name="Topic">The topic name.</param>
/// <param name="Partition">The zero-based partition index.</param>
public readonly record struct TopicPartition(string Topic, int Partition)
{
    /// <summary>Kafka's textual form, <c>topic-partition</c> (as in Java's <c>TopicPartition.toString</c>).</summary>
    public override string ToString() => $"{Topic}-{Partition}";
}
