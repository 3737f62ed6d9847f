// DeleteTopics (key 20) — versions 1-6.
//
// Behaviour (Kafka's ControllerApis.deleteTopics):
// - v1-5 name topics in TopicNames; v6 names each topic by Name or by TopicId (KIP-516).
// - Unknown name: UNKNOWN_TOPIC_OR_PARTITION; unknown id: UNKNOWN_TOPIC_ID.
// - A name or id given twice: one INVALID_REQUEST "Duplicate topic name."/"Duplicate topic id." result, nothing
//   deleted for it. v6 entries with neither or both of name and id are INVALID_REQUEST; a name that resolves to an
//   id also given by id is INVALID_REQUEST.
// - Deletion is synchronous (metadata persisted, logs removed) before the response; TimeoutMs is ignored.
// - Results carry both the name and the id when known (v6 reads TopicId; earlier versions ignore it).
// Version notes: ErrorMessage exists from v5 (ignored by the codec below it); TopicId from v6; Name is nullable
// only in v6, so v1-5 results always carry the requested name.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Deletes topics by name or id.</summary>
internal sealed class DeleteTopicsHandler(BrokerCore core) : ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 1;

    /// <inheritdoc />
    public override short MaxVersion => 6;

    /// <inheritdoc />
    protected override ValueTask<DeleteTopicsResponse?> HandleAsync(
        RequestContext context, DeleteTopicsRequest request, CancellationToken cancellationToken)
    {
        var response = new DeleteTopicsResponse();
        var entries = context.ApiVersion >= 6
            ? request.Topics.Select(t => (t.Name, t.TopicId)).ToList()
            : request.TopicNames.Select(n => ((string?)n, Guid.Empty)).ToList();

        var nameCounts = entries.Where(e => e.Item1 is not null && e.Item2 == Guid.Empty)
            .GroupBy(e => e.Item1!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var idCounts = entries.Where(e => e.Item1 is null && e.Item2 != Guid.Empty)
            .GroupBy(e => e.Item2).ToDictionary(g => g.Key, g => g.Count());
        var reportedNames = new HashSet<string>(StringComparer.Ordinal);
        var reportedIds = new HashSet<Guid>();

        // Resolve everything first, then delete, so "name X and id of X" is detected whatever the order.
        var toDelete = new List<(string Name, Guid Id, bool ById)>();
        foreach (var (name, id) in entries)
        {
            if (name is null && id == Guid.Empty)
            {
                response.Responses.Add(Result(null, Guid.Empty, ErrorCode.InvalidRequest, "Neither topic name nor id were specified."));
            }
            else if (name is not null && id != Guid.Empty)
            {
                response.Responses.Add(Result(name, id, ErrorCode.InvalidRequest, "You may not specify both topic name and topic id."));
            }
            else if (name is not null)
            {
                if (!reportedNames.Add(name))
                {
                    continue;
                }

                if (nameCounts[name] > 1)
                {
                    response.Responses.Add(Result(name, Guid.Empty, ErrorCode.InvalidRequest, "Duplicate topic name."));
                }
                else if (core.Topics.TryGetTopic(name, out var topic))
                {
                    toDelete.Add((name, topic.TopicId, false));
                }
                else
                {
                    response.Responses.Add(Result(name, Guid.Empty, ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition."));
                }
            }
            else
            {
                if (!reportedIds.Add(id))
                {
                    continue;
                }

                if (idCounts[id] > 1)
                {
                    response.Responses.Add(Result(null, id, ErrorCode.InvalidRequest, "Duplicate topic id."));
                }
                else if (core.Topics.TryGetTopic(id, out var topic))
                {
                    toDelete.Add((topic.Name, id, true));
                }
                else
                {
                    response.Responses.Add(Result(null, id, ErrorCode.UnknownTopicId, "This server does not host this topic ID."));
                }
            }
        }

        var byId = toDelete.Where(t => t.ById).Select(t => t.Id).ToHashSet();
        foreach (var (name, id, byIdEntry) in toDelete)
        {
            if (!byIdEntry && byId.Contains(id))
            {
                response.Responses.Add(Result(name, id, ErrorCode.InvalidRequest, "The provided topic name maps to an ID that was already supplied."));
                continue;
            }

            var error = core.Topics.DeleteTopic(name);
            response.Responses.Add(error == ErrorCode.None
                ? Result(name, id, ErrorCode.None, null)
                : Result(name, id, error, "This server does not host this topic-partition."));
        }

        return ValueTask.FromResult<DeleteTopicsResponse?>(response);
    }

    private static DeleteTopicsResponse.DeletableTopicResult Result(string? name, Guid id, ErrorCode error, string? message) => new()
    {
        Name = name,
        TopicId = id,
        ErrorCode = (short)error,
        ErrorMessage = message,
    };
}
