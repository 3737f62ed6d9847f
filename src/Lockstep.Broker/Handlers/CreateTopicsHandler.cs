// CreateTopics (key 19) — versions 2-7 (the protocol library's range starts at 2; kafkajs negotiates down to 2).
//
// Behaviour (Kafka's ControllerApis.createTopics + ReplicationControlManager.createTopics):
// - A name given more than once in one request: one INVALID_REQUEST "Duplicate topic name." result, not created.
// - NumPartitions -1 = num.partitions; 0 or < -1 = INVALID_PARTITIONS. ReplicationFactor -1 or 1 is fine; 0 or < -1
//   is INVALID_REPLICATION_FACTOR; > 1 is INVALID_REPLICATION_FACTOR (a single node).
// - Manual Assignments need NumPartitions = ReplicationFactor = -1 (else INVALID_REQUEST); each partition index
//   once, 0..n-1 consecutive, and replicas exactly [node id] (else INVALID_REPLICA_ASSIGNMENT).
// - An existing topic is TOPIC_ALREADY_EXISTS before any other check (Kafka's order).
// - Configs are validated by TopicConfigs (INVALID_CONFIG with a message; a null value is INVALID_CONFIG as in
//   Kafka's computeConfigChanges). Illegal or colliding names are INVALID_TOPIC_EXCEPTION; existing ones
//   TOPIC_ALREADY_EXISTS. More than 10,000 partitions in one request is POLICY_VIOLATION (MAX_PARTITIONS_PER_BATCH).
// - validateOnly runs every check and creates nothing. TimeoutMs is ignored: creation is synchronous.
// Version notes: v5+ successful results carry NumPartitions, ReplicationFactor and the topic's Configs (every
// supported config with value and source); v7+ carries TopicId (Guid.Empty for validateOnly: nothing was created).
// Error messages are carried by every version we serve (v1+).
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

/// <summary>Creates topics.</summary>
internal sealed class CreateTopicsHandler(BrokerCore core) : ApiHandler<CreateTopicsRequest, CreateTopicsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 2;

    /// <inheritdoc />
    public override short MaxVersion => 7;

    /// <inheritdoc />
    protected override ValueTask<CreateTopicsResponse?> HandleAsync(
        RequestContext context, CreateTopicsRequest request, CancellationToken cancellationToken)
    {
        var response = new CreateTopicsResponse();
        var counts = request.Topics.GroupBy(t => t.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var requestedPartitions = request.Topics.Where(t => counts[t.Name] == 1).Sum(t => (long)RequestedPartitions(t));
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var topic in request.Topics)
        {
            if (!reported.Add(topic.Name))
            {
                continue;
            }

            if (counts[topic.Name] > 1)
            {
                response.Topics.Add(Failed(topic.Name, new AdminError(ErrorCode.InvalidRequest, "Duplicate topic name.")));
                continue;
            }

            if (requestedPartitions > ConfigResources.MaxPartitionsPerRequest)
            {
                response.Topics.Add(Failed(topic.Name, new AdminError(ErrorCode.PolicyViolation, "Excessively large number of partitions per request.")));
                continue;
            }

            response.Topics.Add(Create(topic, request.validateOnly, context.ApiVersion));
        }

        return ValueTask.FromResult<CreateTopicsResponse?>(response);
    }

    private int RequestedPartitions(CreateTopicsRequest.CreatableTopic topic) =>
        topic.Assignments.Count > 0 ? topic.Assignments.Count
        : topic.NumPartitions == -1 ? core.Config.NumPartitions
        : Math.Max(topic.NumPartitions, 0);

    private CreateTopicsResponse.CreatableTopicResult Create(CreateTopicsRequest.CreatableTopic topic, bool validateOnly, short version)
    {
        if (Topics.TopicManager.ValidateName(topic.Name) is { } nameError)
        {
            return Failed(topic.Name, new AdminError(ErrorCode.InvalidTopicException, nameError));
        }

        // Kafka reports an existing topic before looking at configs or shape, so an idempotent "create if absent"
        // with, say, replication factor 3 still gets TOPIC_ALREADY_EXISTS (ReplicationControlManager.createTopics).
        if (core.Topics.TryGetTopic(topic.Name, out _))
        {
            return Failed(topic.Name, new AdminError(ErrorCode.TopicAlreadyExists, $"Topic '{topic.Name}' already exists."));
        }

        var (partitions, shapeError) = Shape(topic);
        if (shapeError.IsError)
        {
            return Failed(topic.Name, shapeError);
        }

        var nullConfigs = topic.Configs.Where(c => c.Value is null).Select(c => c.Name).ToList();
        if (nullConfigs.Count > 0)
        {
            return Failed(topic.Name, new AdminError(ErrorCode.InvalidConfig,
                "Null value not supported for topic configs: " + string.Join(",", nullConfigs)));
        }

        var configs = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var config in topic.Configs)
        {
            configs[config.Name] = config.Value;
        }

        var (created, error, message) = core.Topics.CreateTopic(topic.Name, partitions, configs, validateOnly);
        if (error != ErrorCode.None || created is null)
        {
            return Failed(topic.Name, new AdminError(error == ErrorCode.None ? ErrorCode.UnknownServerError : error, message));
        }

        var result = new CreateTopicsResponse.CreatableTopicResult
        {
            Name = topic.Name,
            TopicId = created.TopicId,
            ErrorCode = (short)ErrorCode.None,
            ErrorMessage = null,
        };
        if (version >= 5)
        {
            result.NumPartitions = partitions;
            result.ReplicationFactor = 1;
            result.Configs = ConfigResources.CreatedTopicConfigs(created.Configs, core.Config);
        }

        return result;
    }

    /// <summary>Checks partitions, replication factor and assignments; returns the partition count.</summary>
    private (int Partitions, AdminError Error) Shape(CreateTopicsRequest.CreatableTopic topic)
    {
        if (topic.Assignments.Count > 0)
        {
            if (topic.ReplicationFactor != -1)
            {
                return (0, new AdminError(ErrorCode.InvalidRequest,
                    "A manual partition assignment was specified, but replication factor was not set to -1."));
            }

            if (topic.NumPartitions != -1)
            {
                return (0, new AdminError(ErrorCode.InvalidRequest,
                    "A manual partition assignment was specified, but numPartitions was not set to -1."));
            }

            var indexes = new HashSet<int>();
            foreach (var assignment in topic.Assignments)
            {
                if (!indexes.Add(assignment.PartitionIndex))
                {
                    return (0, new AdminError(ErrorCode.InvalidReplicaAssignment,
                        $"Found multiple manual partition assignments for partition {assignment.PartitionIndex}"));
                }

                if (ReplicaAssignments.Validate(assignment.BrokerIds, core.Config.NodeId) is { } problem)
                {
                    return (0, new AdminError(ErrorCode.InvalidReplicaAssignment, problem));
                }
            }

            for (var i = 0; i < indexes.Count; i++)
            {
                if (!indexes.Contains(i))
                {
                    return (0, new AdminError(ErrorCode.InvalidReplicaAssignment,
                        "partitions should be a consecutive 0-based integer sequence"));
                }
            }

            return (indexes.Count, AdminError.None);
        }

        if (topic.ReplicationFactor < -1 || topic.ReplicationFactor == 0)
        {
            return (0, new AdminError(ErrorCode.InvalidReplicationFactor,
                "Replication factor must be larger than 0, or -1 to use the default value."));
        }

        if (topic.NumPartitions < -1 || topic.NumPartitions == 0)
        {
            return (0, new AdminError(ErrorCode.InvalidPartitions,
                "Number of partitions was set to an invalid non-positive value."));
        }

        if (topic.ReplicationFactor > 1)
        {
            return (0, new AdminError(ErrorCode.InvalidReplicationFactor, ReplicaAssignments.TooManyReplicas(topic.ReplicationFactor)));
        }

        return (topic.NumPartitions == -1 ? core.Config.NumPartitions : topic.NumPartitions, AdminError.None);
    }

    private static CreateTopicsResponse.CreatableTopicResult Failed(string name, AdminError error) => new()
    {
        Name = name,
        ErrorCode = (short)error.Code,
        ErrorMessage = error.Message,
    };
}
