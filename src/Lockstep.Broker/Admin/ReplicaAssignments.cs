using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Lockstep.Broker.Admin;

/// <summary>Validation of manual replica assignments (CreateTopics Assignments, CreatePartitions Assignments).</summary>
internal static class ReplicaAssignments
{
    /// <summary>
    /// A single node accepts only the replica list [node id]. Returns an INVALID_REPLICA_ASSIGNMENT message in
    /// Kafka's wording (ReplicationControlManager.validateManualPartitionAssignment) or null.
    /// </summary>
    public static string? Validate(IReadOnlyList<int>? brokerIds, int nodeId)
    {
        if (brokerIds is null || brokerIds.Count == 0)
        {
            return "The manual partition assignment includes an empty replica list.";
        }

        var seen = new HashSet<int>();
        foreach (var id in brokerIds.Order())
        {
            if (id != nodeId)
            {
                return $"The manual partition assignment includes broker {id}, but no such broker is registered.";
            }

            if (!seen.Add(id))
            {
                return $"The manual partition assignment includes the broker {id} more than once.";
            }
        }

        return null;
    }

    /// <summary>The INVALID_REPLICATION_FACTOR message for a factor above 1 (Kafka's replica placer wording).</summary>
    public static string TooManyReplicas(int replicationFactor) =>
        string.Create(CultureInfo.InvariantCulture,
            $"Unable to replicate the partition {replicationFactor} time(s): The target replication factor of {replicationFactor} cannot be reached because only 1 broker(s) are registered (Lockstep is a single node).");
}
