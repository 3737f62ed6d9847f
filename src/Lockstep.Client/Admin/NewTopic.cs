using System.Collections.Generic;

namespace Lockstep.Client.Admin;

/// <summary>A topic to create with <see cref="KafkaAdminClient.CreateTopicsAsync"/>.</summary>
/// <param name="Name">The topic name.</param>
/// <param name="NumPartitions">Partition count; -1 uses the broker's <c>num.partitions</c>.</param>
/// <param name="ReplicationFactor">Replicas per partition; -1 uses the broker's <c>default.replication.factor</c>.
/// </param>
public sealed record NewTopic(string Name, int NumPartitions = -1, short ReplicationFactor = -1)
{
    /// <summary>Topic configs such as <c>cleanup.policy</c> or <c>retention.ms</c>.</summary>
    public IReadOnlyDictionary<string, string>? Configs { get; init; }
}
