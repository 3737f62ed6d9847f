namespace Lockstep.Client;

/// <summary>
/// The consumer-group identity a transactional producer passes to
/// <see cref="KafkaProducer.SendOffsetsToTransactionAsync"/> so the group coordinator can fence commits from a
/// consumer that has been kicked out of the group (KIP-447). Obtain it from the consumer after it joined.
/// </summary>
/// <param name="GroupId">The consumer group id.</param>
/// <param name="GenerationId">The group generation (classic protocol) or member epoch; -1 when unknown, which
/// disables generation fencing.</param>
/// <param name="MemberId">The member id assigned by the coordinator; empty when unknown.</param>
/// <param name="GroupInstanceId">The static membership id (KIP-345), or null.</param>
public sealed record ConsumerGroupMetadata(
    string GroupId, int GenerationId = -1, string MemberId = "", string? GroupInstanceId = null);
