// DescribeConfigs (key 32) — versions 1-4 (the protocol library's range starts at 1).
//
// Behaviour (Kafka's ConfigHelper.describeConfigs):
// - TOPIC (2): every supported topic config (TopicConfigs.All) with its effective value and source: TOPIC_CONFIG (1)
//   for an override, STATIC_BROKER_CONFIG (4) when the broker synonym was set, DEFAULT_CONFIG (5) otherwise.
//   Unknown topic: UNKNOWN_TOPIC_OR_PARTITION; illegal name: INVALID_TOPIC_EXCEPTION.
// - BROKER (4) named by this node's id: every broker setting (BrokerConfig), all read-only (no dynamic configs).
//   BROKER "" (cluster-wide dynamic defaults) is an empty list, as in Kafka when none are set. Another id or a
//   non-numeric name: INVALID_REQUEST.
// - Any other resource type: INVALID_REQUEST for that resource; the other resources are still answered.
// - ConfigurationKeys null = all; otherwise only the listed names that exist (unknown names are omitted).
// - IncludeSynonyms (v1+): synonyms in precedence order; IncludeDocumentation (v3+): a one-line description.
// Version notes: ConfigType and Documentation exist from v3 (ignored by the codec below it); v4 is flexible.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Admin;
using Lockstep.Broker.Dispatch;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Describes topic and broker configs.</summary>
internal sealed class DescribeConfigsHandler(BrokerCore core) : ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse>
{
    private static readonly Dictionary<string, string> BrokerDocumentation =
        BrokerConfig.Describe().ToDictionary(d => d.Name, d => d.About, StringComparer.Ordinal);

    /// <inheritdoc />
    public override short MinVersion => 1;

    /// <inheritdoc />
    public override short MaxVersion => 4;

    /// <inheritdoc />
    protected override ValueTask<DescribeConfigsResponse?> HandleAsync(
        RequestContext context, DescribeConfigsRequest request, CancellationToken cancellationToken)
    {
        var includeDocumentation = context.ApiVersion >= 3 && request.IncludeDocumentation;
        var response = new DescribeConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new DescribeConfigsResponse.DescribeConfigsResult
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
                ErrorMessage = null,
            };
            var keys = resource.ConfigurationKeys is null ? null : new HashSet<string>(resource.ConfigurationKeys, StringComparer.Ordinal);
            var error = resource.ResourceType switch
            {
                ConfigResources.Topic => DescribeTopic(resource.ResourceName, keys, request.IncludeSynonyms, includeDocumentation, result.Configs),
                ConfigResources.Broker => DescribeBroker(resource.ResourceName, keys, request.IncludeSynonyms, includeDocumentation, result.Configs),
                _ => new AdminError(ErrorCode.InvalidRequest, $"Unsupported resource type: {ConfigResources.TypeName(resource.ResourceType)}"),
            };
            if (error.IsError)
            {
                result.Configs.Clear();
                result.ErrorCode = (short)error.Code;
                result.ErrorMessage = error.Message;
            }

            response.Results.Add(result);
        }

        return ValueTask.FromResult<DescribeConfigsResponse?>(response);
    }

    private AdminError DescribeTopic(
        string name, HashSet<string>? keys, bool includeSynonyms, bool includeDocumentation,
        List<DescribeConfigsResponse.DescribeConfigsResourceResult> output)
    {
        if (TopicManager.ValidateName(name) is { } nameError)
        {
            return new AdminError(ErrorCode.InvalidTopicException, nameError);
        }

        if (!core.Topics.TryGetTopic(name, out var topic))
        {
            return new AdminError(ErrorCode.UnknownTopicOrPartition, "This server does not host this topic-partition.");
        }

        foreach (var definition in TopicConfigs.All.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            if (keys is null || keys.Contains(definition.Name))
            {
                output.Add(ConfigResources.DescribeTopicConfig(definition, topic.Configs, core.Config, includeSynonyms, includeDocumentation));
            }
        }

        return AdminError.None;
    }

    private AdminError DescribeBroker(
        string name, HashSet<string>? keys, bool includeSynonyms, bool includeDocumentation,
        List<DescribeConfigsResponse.DescribeConfigsResourceResult> output)
    {
        if (ConfigResources.ValidateBrokerName(name, core.Config.NodeId) is { } problem)
        {
            return new AdminError(ErrorCode.InvalidRequest, problem);
        }

        if (name.Length == 0)
        {
            // Cluster-wide dynamic defaults: Lockstep has none.
            return AdminError.None;
        }

        foreach (var (key, value) in core.Config.EffectiveValues)
        {
            if (keys is null || keys.Contains(key))
            {
                output.Add(ConfigResources.DescribeBrokerConfig(
                    key, value, BrokerDocumentation[key], core.Config, includeSynonyms, includeDocumentation));
            }
        }

        return AdminError.None;
    }
}
