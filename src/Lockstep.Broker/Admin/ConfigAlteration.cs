using System;
using System.Collections.Generic;
using System.Linq;
using Lockstep.Broker.Topics;
using Lockstep.Protocol;

namespace Lockstep.Broker.Admin;

/// <summary>
/// The shared path of AlterConfigs and IncrementalAlterConfigs (Kafka's ControllerApis.handleLegacyAlterConfigs /
/// handleIncrementalAlterConfigs and ConfigurationControlManager): resource checks, duplicate resources, then a new
/// override set per topic handed to <see cref="TopicManager.ReplaceConfigs"/>.
/// </summary>
internal static class ConfigAlteration
{
    /// <summary>IncrementalAlterConfigs operation ids (Kafka <c>AlterConfigOp.OpType</c>).</summary>
    public const sbyte Set = 0;

    /// <summary>DELETE: remove the override.</summary>
    public const sbyte Delete = 1;

    /// <summary>APPEND: add list elements (LIST configs only).</summary>
    public const sbyte Append = 2;

    /// <summary>SUBTRACT: remove list elements (LIST configs only).</summary>
    public const sbyte Subtract = 3;

    /// <summary>One resource of an alter request, reduced to what both APIs share.</summary>
    /// <param name="Type">ConfigResource type id.</param>
    /// <param name="Name">Resource name.</param>
    /// <param name="Compute">Builds the new override set from the current one, or returns an error.</param>
    public sealed record Resource(
        sbyte Type,
        string Name,
        Func<IReadOnlyDictionary<string, string>, (Dictionary<string, string>? Overrides, AdminError Error)> Compute);

    /// <summary>
    /// Applies every resource (in request order) and returns one result per distinct resource. A resource named
    /// twice is one INVALID_REQUEST "Duplicate resource." result and is not applied.
    /// </summary>
    public static List<(sbyte Type, string Name, AdminError Error)> Apply(
        BrokerCore core, IReadOnlyList<Resource> resources, bool validateOnly)
    {
        var counts = resources.GroupBy(r => (r.Type, r.Name)).ToDictionary(g => g.Key, g => g.Count());
        var reported = new HashSet<(sbyte, string)>();
        var results = new List<(sbyte, string, AdminError)>(resources.Count);
        foreach (var resource in resources)
        {
            if (!reported.Add((resource.Type, resource.Name)))
            {
                continue;
            }

            var error = counts[(resource.Type, resource.Name)] > 1
                ? new AdminError(ErrorCode.InvalidRequest, "Duplicate resource.")
                : ApplyOne(core, resource, validateOnly);
            results.Add((resource.Type, resource.Name, error));
        }

        return results;
    }

    private static AdminError ApplyOne(BrokerCore core, Resource resource, bool validateOnly)
    {
        switch (resource.Type)
        {
            case ConfigResources.Topic:
                if (!core.Topics.TryGetTopic(resource.Name, out var topic))
                {
                    return new AdminError(ErrorCode.UnknownTopicOrPartition, $"The topic '{resource.Name}' does not exist.");
                }

                var (overrides, error) = resource.Compute(topic.Configs);
                if (error.IsError || overrides is null)
                {
                    return error;
                }

                var (code, message) = core.Topics.ReplaceConfigs(resource.Name, overrides, validateOnly);
                return new AdminError(code, message);

            case ConfigResources.Broker:
                return new AdminError(ErrorCode.InvalidRequest,
                    ConfigResources.ValidateBrokerName(resource.Name, core.Config.NodeId) ?? ConfigResources.DynamicBrokerConfigsUnsupported);

            default:
                // Kafka answers an unknown type id with UNSUPPORTED_VERSION; known types we do not serve
                // (BROKER_LOGGER, CLIENT_METRICS, GROUP) are INVALID_REQUEST with a reason.
                return ConfigResources.IsKnownType(resource.Type)
                    ? new AdminError(ErrorCode.InvalidRequest,
                        $"Lockstep does not support altering {ConfigResources.TypeName(resource.Type)} configs.")
                    : new AdminError(ErrorCode.UnsupportedVersion, $"Unknown resource type {resource.Type}.");
        }
    }

    /// <summary>
    /// IncrementalAlterConfigs: applies SET/DELETE/APPEND/SUBTRACT to a copy of <paramref name="current"/>
    /// (ConfigurationControlManager.incrementalAlterConfigResource). A key named twice is INVALID_REQUEST.
    /// </summary>
    public static (Dictionary<string, string>? Overrides, AdminError Error) Incremental(
        IReadOnlyDictionary<string, string> current, IEnumerable<(string Name, sbyte Op, string? Value)> ops, BrokerConfig broker)
    {
        var next = new Dictionary<string, string>(current, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, op, value) in ops)
        {
            if (!seen.Add(name))
            {
                return (null, new AdminError(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {name}"));
            }

            switch (op)
            {
                case Set:
                    if (value is null)
                    {
                        return (null, new AdminError(ErrorCode.InvalidConfig, $"Null value not supported for topic config '{name}'."));
                    }

                    next[name] = value;
                    break;

                case Delete:
                    // Deleting an override that is not set (or a name we do not know) is a no-op, as in Kafka.
                    next.Remove(name);
                    break;

                case Append:
                case Subtract:
                    if (!TopicConfigs.All.TryGetValue(name, out var definition) || !definition.IsList)
                    {
                        var opName = op == Append ? "APPEND" : "SUBTRACT";
                        return (null, new AdminError(ErrorCode.InvalidConfig, $"Can't {opName} to key {name} because its type is not LIST."));
                    }

                    var (effective, _) = TopicConfigs.Effective(name, next, broker);
                    var parts = effective.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
                    foreach (var element in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (op == Append && !parts.Contains(element, StringComparer.Ordinal))
                        {
                            parts.Add(element);
                        }
                        else if (op == Subtract)
                        {
                            parts.Remove(element);
                        }
                    }

                    next[name] = string.Join(',', parts);
                    break;

                default:
                    return (null, new AdminError(ErrorCode.InvalidRequest, $"Unknown config operation {op} for {name}."));
            }
        }

        return (next, AdminError.None);
    }

    /// <summary>
    /// AlterConfigs (legacy): the given configs replace every override of the resource; a null value is
    /// INVALID_CONFIG (Kafka cannot store it either).
    /// </summary>
    public static (Dictionary<string, string>? Overrides, AdminError Error) Replace(IEnumerable<(string Name, string? Value)> configs)
    {
        var next = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in configs)
        {
            if (value is null)
            {
                return (null, new AdminError(ErrorCode.InvalidConfig, $"Null value not supported for topic config '{name}'."));
            }

            next[name] = value;
        }

        return (next, AdminError.None);
    }
}
