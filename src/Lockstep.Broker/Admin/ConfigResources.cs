using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Lockstep.Broker.Topics;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Admin;

/// <summary>
/// Config resources as the config APIs name them (Kafka <c>ConfigResource.Type</c>) and how Lockstep describes and
/// alters them. Shared by DescribeConfigs, AlterConfigs, IncrementalAlterConfigs and CreateTopics (v5+ returns the
/// new topic's configs).
/// </summary>
internal static class ConfigResources
{
    /// <summary>ConfigResource.Type.TOPIC.</summary>
    public const sbyte Topic = 2;

    /// <summary>ConfigResource.Type.BROKER.</summary>
    public const sbyte Broker = 4;

    /// <summary>Kafka's other resource types: BROKER_LOGGER, CLIENT_METRICS, GROUP. Known, but not served here.</summary>
    private static readonly sbyte[] OtherKnownTypes = [8, 16, 32];

    /// <summary>Kafka's largest partition count per CreateTopics/CreatePartitions request
    /// (ReplicationControlManager.MAX_PARTITIONS_PER_BATCH); beyond it a request is a POLICY_VIOLATION.</summary>
    public const int MaxPartitionsPerRequest = 10_000;

    /// <summary>The message for any attempt to change broker settings at run time.</summary>
    public const string DynamicBrokerConfigsUnsupported =
        "Lockstep does not support dynamic broker configs; broker settings are read at start-up (--set key=value or the config file).";

    /// <summary>True for a resource type id Kafka knows (even if Lockstep does not serve it).</summary>
    public static bool IsKnownType(sbyte type) => type is Topic or Broker || OtherKnownTypes.Contains(type);

    /// <summary>Kafka's name of a resource type, for messages.</summary>
    public static string TypeName(sbyte type) => type switch
    {
        Topic => "TOPIC",
        Broker => "BROKER",
        8 => "BROKER_LOGGER",
        16 => "CLIENT_METRICS",
        32 => "GROUP",
        _ => type.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Checks a BROKER resource name: "" (cluster-wide defaults) or this node's id, as in Kafka's
    /// <c>ConfigHelper.describeConfigs</c>. Returns an INVALID_REQUEST message or null.
    /// </summary>
    public static string? ValidateBrokerName(string name, int nodeId)
    {
        if (name.Length == 0)
        {
            return null;
        }

        if (!int.TryParse(name, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
        {
            return $"Broker id must be an integer, but it is: {name}";
        }

        return id == nodeId ? null : $"Unexpected broker id, expected {nodeId} or empty string, but received {name}";
    }

    /// <summary>Describes one topic config (DescribeConfigs).</summary>
    public static DescribeConfigsResponse.DescribeConfigsResourceResult DescribeTopicConfig(
        TopicConfigs.Definition definition, IReadOnlyDictionary<string, string> overrides, BrokerConfig broker,
        bool includeSynonyms, bool includeDocumentation)
    {
        var synonyms = TopicConfigs.Synonyms(definition.Name, overrides, broker);
        var (value, source) = TopicConfigs.Effective(definition.Name, overrides, broker);
        return new DescribeConfigsResponse.DescribeConfigsResourceResult
        {
            Name = definition.Name,
            Value = value,
            ReadOnly = definition.ReadOnly,
            ConfigSource = (sbyte)source,
            IsSensitive = false,
            Synonyms = includeSynonyms
                ? synonyms.Select(s => new DescribeConfigsResponse.DescribeConfigsSynonym
                {
                    Name = s.Name,
                    Value = s.Value,
                    Source = (sbyte)s.Source,
                }).ToList()
                : [],
            ConfigType = (sbyte)definition.Type,
            Documentation = includeDocumentation ? definition.About : null,
        };
    }

    /// <summary>
    /// Describes one broker setting (DescribeConfigs BROKER resource named by the node id). Every setting is
    /// read-only: Lockstep has no dynamic broker configs.
    /// </summary>
    public static DescribeConfigsResponse.DescribeConfigsResourceResult DescribeBrokerConfig(
        string name, string value, string about, BrokerConfig broker, bool includeSynonyms, bool includeDocumentation)
    {
        var source = broker.IsExplicit(name) ? ConfigSource.StaticBroker : ConfigSource.Default;
        var synonyms = new List<DescribeConfigsResponse.DescribeConfigsSynonym>(2);
        if (includeSynonyms)
        {
            if (source == ConfigSource.StaticBroker)
            {
                synonyms.Add(new() { Name = name, Value = value, Source = (sbyte)ConfigSource.StaticBroker });
            }

            synonyms.Add(new() { Name = name, Value = BrokerConfig.DefaultOf(name), Source = (sbyte)ConfigSource.Default });
        }

        return new DescribeConfigsResponse.DescribeConfigsResourceResult
        {
            Name = name,
            Value = value,
            ReadOnly = true,
            ConfigSource = (sbyte)source,
            IsSensitive = false,
            Synonyms = synonyms,
            ConfigType = (sbyte)GuessBrokerConfigType(name, BrokerConfig.DefaultOf(name)),
            Documentation = includeDocumentation ? about : null,
        };
    }

    /// <summary>
    /// The config entries CreateTopics v5+ returns for a new topic: every supported topic config with its effective
    /// value and source, in name order (ReplicationControlManager.createTopic).
    /// </summary>
    public static List<CreateTopicsResponse.CreatableTopicConfigs> CreatedTopicConfigs(
        IReadOnlyDictionary<string, string> overrides, BrokerConfig broker) =>
        TopicConfigs.All.Values
            .OrderBy(d => d.Name, StringComparer.Ordinal)
            .Select(d =>
            {
                var (value, source) = TopicConfigs.Effective(d.Name, overrides, broker);
                return new CreateTopicsResponse.CreatableTopicConfigs
                {
                    Name = d.Name,
                    Value = value,
                    ReadOnly = d.ReadOnly,
                    ConfigSource = (sbyte)source,
                    IsSensitive = false,
                };
            })
            .ToList();

    /// <summary>
    /// BrokerConfig does not record value types, so DescribeConfigs v3 <c>ConfigType</c> is derived from the default:
    /// true/false is BOOLEAN, an integer is LONG for durations (<c>*.ms</c>) and <c>log.retention.bytes</c> (LONG in
    /// Kafka) and INT otherwise, anything else STRING. The type is informational (admin UIs).
    /// </summary>
    private static ConfigType GuessBrokerConfigType(string name, string defaultValue)
    {
        if (defaultValue is "true" or "false")
        {
            return ConfigType.Boolean;
        }

        if (long.TryParse(defaultValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            return name.EndsWith(".ms", StringComparison.Ordinal) || name == "log.retention.bytes"
                ? ConfigType.Long
                : ConfigType.Int;
        }

        return ConfigType.String;
    }
}
