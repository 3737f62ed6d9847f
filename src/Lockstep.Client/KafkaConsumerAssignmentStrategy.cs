namespace Lockstep.Client;

/// <summary><c>partition.assignment.strategy</c> of the classic group protocol.</summary>
public enum KafkaConsumerAssignmentStrategy
{
    /// <summary><c>range</c> (Java's RangeAssignor, the eager protocol): per topic, contiguous partition ranges by
    /// sorted member id; every member revokes everything before each rebalance.</summary>
    Range,

    /// <summary><c>cooperative-sticky</c> (KIP-429): assignments stay where they were when possible and members
    /// give up only the partitions that move, so the rest keep being consumed during a rebalance.</summary>
    CooperativeSticky,
}
