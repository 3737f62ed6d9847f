// CreatePartitions (key 37) — versions 0-3.
//
// Behaviour (Kafka's ReplicationControlManager.createPartitions):
// - Grow only: Count equal to the current count is INVALID_PARTITIONS "Topic already has N partition(s).", smaller is
//   INVALID_PARTITIONS "... would not be an increase."; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION.
// - Assignments (optional): exactly one per new partition (else INVALID_REPLICA_ASSIGNMENT), each exactly
//   [node id] (a single node).
// - A topic named twice in one request: INVALID_REQUEST "Duplicate topic name." (ControllerApis).
// - More than 10,000 new partitions in one request: POLICY_VIOLATION, so a typo cannot create a million logs.
// - ValidateOnly runs every check and changes nothing. TimeoutMs is ignored: the change is synchronous.
// Version notes: the response shape is the same in every version (v2+ is flexible).
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Admin;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Adds partitions to existing topics.</summary>
internal sealed class CreatePartitionsHandler(BrokerCore core) : ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 3;

    /// <inheritdoc />
    protected override ValueTask<CreatePartitionsResponse?> HandleAsync(
        RequestContext context, CreatePartitionsRequest request, CancellationToken cancellationToken)
    {
        var response = new CreatePartitionsResponse();
        var counts = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        long added = 0;
        foreach (var topic in request.Topics)
        {
            if (!reported.Add(topic.Name))
            {
                continue;
            }

            var error = counts[topic.Name] > 1
                ? new AdminError(ErrorCode.InvalidRequest, "Duplicate topic name.")
                : Grow(topic, request.ValidateOnly, ref added);
            response.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
            {
                Name = topic.Name,
                ErrorCode = (short)error.Code,
                ErrorMessage = error.Message,
            });
        }

        return ValueTask.FromResult<CreatePartitionsResponse?>(response);
    }

    private AdminError Grow(CreatePartitionsRequest.CreatePartitionsTopic request, bool validateOnly, ref long added)
    {
        if (!core.Topics.TryGetTopic(request.Name, out var topic))
        {
            return new AdminError(ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition.");
        }

        var current = topic.Partitions.Count;
        if (request.Count == current)
        {
            return new AdminError(ErrorCode.InvalidPartitions, $"Topic already has {current} partition(s).");
        }

        if (request.Count < current)
        {
            return new AdminError(ErrorCode.InvalidPartitions,
                $"The topic {request.Name} currently has {current} partition(s); {request.Count} would not be an increase.");
        }

        var additional = request.Count - current;
        if (request.Assignments is { } assignments)
        {
            if (assignments.Count != additional)
            {
                return new AdminError(ErrorCode.InvalidReplicaAssignment,
                    $"Attempted to add {additional} additional partition(s), but only {assignments.Count} assignment(s) were specified.");
            }

            foreach (var assignment in assignments)
            {
                if (ReplicaAssignments.Validate(assignment.BrokerIds, core.Config.NodeId) is { } problem)
                {
                    return new AdminError(ErrorCode.InvalidReplicaAssignment, problem);
                }
            }
        }

        added += additional;
        if (added > ConfigResources.MaxPartitionsPerRequest)
        {
            return new AdminError(ErrorCode.PolicyViolation, "Excessively large number of partitions per request.");
        }

        var (error, message) = core.Topics.CreatePartitions(request.Name, request.Count, validateOnly);
        return new AdminError(error, message);
    }
}
