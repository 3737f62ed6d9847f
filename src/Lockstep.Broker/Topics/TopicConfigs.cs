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
    /// <summary>A topic config: its broker-level synonym and how to validate a value.</summary>
    internal sealed record Definition(string Name, string? BrokerSynonym, string StaticDefault, Func<string, string?> Validate, bool ReadOnly = false);

    private static string? Long(string value, long min) =>
        long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) && v >= min
            ? null
            : $"must be an integer >= {min}";

    private static string? OneOf(string value, params string[] allowed) =>
        allowed.Contains(value, StringComparer.Ordinal) ? null : $"must be one of {string.Join(", ", allowed)}";

    /// <summary>The supported topic configs by name.</summary>
    public static readonly IReadOnlyDictionary<string, Definition> All = new Definition[]
    {
        new("cleanup.policy", null, "delete", v => v == "delete" ? null : "only 'delete' is supported (Lockstep does not compact logs)"),
        new("retention.ms", "log.retention.ms", "604800000", v => Long(v, -1)),
        new("retention.bytes", "log.retention.bytes", "-1", v => Long(v, -1)),
        new("segment.bytes", "log.segment.bytes", "1073741824", v => Long(v, 1024) ?? (long.Parse(v, CultureInfo.InvariantCulture) > int.MaxValue ? "must fit in an int" : null)),
        new("segment.ms", "log.roll.ms", "604800000", v => Long(v, 1)),
        new("index.interval.bytes", "log.index.interval.bytes", "4096", v => Long(v, 0)),
        new("max.message.bytes", "message.max.bytes", "1048588", v => Long(v, 0)),
        new("message.timestamp.type", null, "CreateTime", v => OneOf(v, "CreateTime", "LogAppendTime")),
        new("compression.type", null, "producer", v => v == "producer" ? null : "only 'producer' is supported (batches are stored as received)"),
        new("min.insync.replicas", null, "1", v => v == "1" ? null : "a single node has exactly one in-sync replica"),
        new("unclean.leader.election.enable", null, "false", v => OneOf(v, "true", "false")),
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
