using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Lockstep.Storage;

namespace Lockstep.Broker.Topics;

/// <summary>
/// Topic-level settings under Kafka's topic config names, with the broker setting each one defaults to (Kafka's
/// <c>ServerTopicConfigSynonyms</c>). Only settings Lockstep honours are accepted; anything else is INVALID_CONFIG
/// with a message, never silently ignored.
/// </summary>
internal static class TopicConfigs
{
    /// <summary>A topic config: its broker-level synonym, how to validate a value, and what DescribeConfigs says about it.</summary>
    /// <param name="Name">Kafka's topic config name.</param>
    /// <param name="BrokerSynonym">The broker setting it defaults to, when <see cref="BrokerConfig"/> has one.</param>
    /// <param name="StaticDefault">Kafka's default when there is no broker synonym.</param>
    /// <param name="Validate">Returns a problem description or null.</param>
    /// <param name="Type">Kafka's <c>ConfigDef.Type</c> (DescribeConfigs v3+ <c>ConfigType</c>).</param>
    /// <param name="About">Documentation (DescribeConfigs v3+ with IncludeDocumentation).</param>
    /// <param name="ReadOnly">True when the config cannot be altered.</param>
    internal sealed record Definition(
        string Name,
        string? BrokerSynonym,
        string StaticDefault,
        Func<string, string?> Validate,
        ConfigType Type,
        string About,
        bool ReadOnly = false)
    {
        /// <summary>LIST configs accept IncrementalAlterConfigs APPEND/SUBTRACT (Kafka <c>ConfigDef.Type.LIST</c>).</summary>
        public bool IsList => Type == ConfigType.List;
    }

    private static string? Long(string value, long min) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) && v >= min
            ? null
            : $"must be an integer >= {min}";

    private static string? Int(string value, long min) =>
        Long(value, min) ?? (long.Parse(value, CultureInfo.InvariantCulture) > int.MaxValue ? "must fit in an int" : null);

    private static string? OneOf(string value, params string[] allowed) =>
        allowed.Contains(value, StringComparer.Ordinal) ? null : $"must be one of {string.Join(", ", allowed)}";

    /// <summary>The supported topic configs by name.</summary>
    public static readonly IReadOnlyDictionary<string, Definition> All = new Definition[]
    {
        // cleanup.policy is a LIST in Kafka (TopicConfig.CLEANUP_POLICY_CONFIG), so APPEND/SUBTRACT apply to it.
        new("cleanup.policy", null, "delete", v => v == "delete" ? null : "only 'delete' is supported (Lockstep does not compact logs)",
            ConfigType.List, "Only 'delete' is supported: old segments are deleted by retention time and size."),
        new("retention.ms", "log.retention.ms", "604800000", v => Long(v, -1),
            ConfigType.Long, "Delete segments older than this many milliseconds (-1: no time limit)."),
        new("retention.bytes", "log.retention.bytes", "-1", v => Long(v, -1),
            ConfigType.Long, "Delete old segments while a partition is larger than this (-1: no size limit)."),
        new("segment.bytes", "log.segment.bytes", "1073741824", v => Int(v, 1024),
            ConfigType.Int, "Roll a new segment when the active one reaches this size."),
        new("segment.ms", "log.roll.ms", "604800000", v => Long(v, 1),
            ConfigType.Long, "Roll a new segment after this many milliseconds."),
        new("index.interval.bytes", "log.index.interval.bytes", "4096", v => Int(v, 0),
            ConfigType.Int, "Bytes of log between offset-index entries."),
        new("max.message.bytes", "message.max.bytes", "1048588", v => Int(v, 0),
            ConfigType.Int, "Largest record batch accepted for this topic."),
        new("message.timestamp.type", null, "CreateTime", v => OneOf(v, "CreateTime", "LogAppendTime"),
            ConfigType.String, "CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the broker's clock."),
        new("compression.type", null, "producer", v => v == "producer" ? null : "only 'producer' is supported (batches are stored as received)",
            ConfigType.String, "Only 'producer' is supported: batches are stored as the producer compressed them."),
        new("min.insync.replicas", null, "1", v => v == "1" ? null : "a single node has exactly one in-sync replica",
            ConfigType.Int, "Always 1: a single node is the only in-sync replica."),
        new("unclean.leader.election.enable", null, "false", v => OneOf(v, "true", "false"),
            ConfigType.Boolean, "Accepted for compatibility; a single node never elects another leader."),
    }.ToDictionary(d => d.Name, StringComparer.Ordinal);

    /// <summary>Checks one name/value; returns an error message or null.</summary>
    public static string? Validate(string name, string? value)
    {
        if (!All.TryGetValue(name, out var definition))
        {
            return $"Unknown or unsupported topic config '{name}'.";
        }

        if (value is null)
        {
            return $"Topic config '{name}' needs a value.";
        }

        var problem = definition.Validate(value);
        return problem is null ? null : $"Invalid value '{value}' for topic config '{name}': {problem}.";
    }

    /// <summary>The effective value of <paramref name="name"/> for a topic with <paramref name="overrides"/>.</summary>
    public static (string Value, ConfigSource Source) Effective(
        string name, IReadOnlyDictionary<string, string> overrides, BrokerConfig broker)
    {
        if (overrides.TryGetValue(name, out var value))
        {
            return (value, ConfigSource.Topic);
        }

        var definition = All[name];
        if (definition.BrokerSynonym is { } synonym)
        {
            var brokerValue = broker.EffectiveValues.First(kv => kv.Key == synonym).Value;
            return (brokerValue, broker.IsExplicit(synonym) ? ConfigSource.StaticBroker : ConfigSource.Default);
        }

        return (definition.StaticDefault, ConfigSource.Default);
    }

    /// <summary>
    /// The synonyms of a topic config in Kafka's precedence order (<c>ConfigHelper.createTopicConfigEntry</c>): the
    /// topic override, then the broker setting when set explicitly, then its default. The first one is the effective
    /// value. A config without a broker synonym falls back to its own name with Kafka's default.
    /// </summary>
    public static IReadOnlyList<(string Name, string Value, ConfigSource Source)> Synonyms(
        string name, IReadOnlyDictionary<string, string> overrides, BrokerConfig broker)
    {
        var definition = All[name];
        var synonyms = new List<(string, string, ConfigSource)>(3);
        if (overrides.TryGetValue(name, out var value))
        {
            synonyms.Add((name, value, ConfigSource.Topic));
        }

        if (definition.BrokerSynonym is { } synonym)
        {
            if (broker.IsExplicit(synonym))
            {
                synonyms.Add((synonym, broker.EffectiveValues.First(kv => kv.Key == synonym).Value, ConfigSource.StaticBroker));
            }

            synonyms.Add((synonym, BrokerConfig.DefaultOf(synonym), ConfigSource.Default));
        }
        else
        {
            synonyms.Add((name, definition.StaticDefault, ConfigSource.Default));
        }

        return synonyms;
    }

    /// <summary>The log settings of a topic: broker defaults with the topic's overrides applied.</summary>
    public static LogConfig ToLogConfig(IReadOnlyDictionary<string, string> overrides, BrokerConfig broker)
    {
        long Get(string name) => long.Parse(Effective(name, overrides, broker).Value, CultureInfo.InvariantCulture);
        return broker.DefaultLogConfig with
        {
            RetentionMs = Get("retention.ms"),
            RetentionBytes = Get("retention.bytes"),
            SegmentBytes = checked((int)Get("segment.bytes")),
            SegmentMs = Get("segment.ms"),
            IndexIntervalBytes = checked((int)Get("index.interval.bytes")),
        };
    }
}

/// <summary>Where an effective config value comes from (DescribeConfigs <c>ConfigSource</c> values).</summary>
internal enum ConfigSource : sbyte
{
    /// <summary>UNKNOWN.</summary>
    Unknown = 0,

    /// <summary>TOPIC_CONFIG: set on the topic.</summary>
    Topic = 1,

    /// <summary>STATIC_BROKER_CONFIG: set in the broker's settings.</summary>
    StaticBroker = 4,

    /// <summary>DEFAULT_CONFIG: Kafka's default.</summary>
    Default = 5,
}

/// <summary>Kafka's <c>DescribeConfigsResponse.ConfigType</c> ids (DescribeConfigs v3+).</summary>
internal enum ConfigType : sbyte
{
    /// <summary>UNKNOWN.</summary>
    Unknown = 0,

    /// <summary>BOOLEAN.</summary>
    Boolean = 1,

    /// <summary>STRING.</summary>
    String = 2,

    /// <summary>INT.</summary>
    Int = 3,

    /// <summary>SHORT.</summary>
    Short = 4,

    /// <summary>LONG.</summary>
    Long = 5,

    /// <summary>DOUBLE.</summary>
    Double = 6,

    /// <summary>LIST.</summary>
    List = 7,
}
