namespace Lockstep.Client.Admin;

/// <summary>One config as described by DescribeConfigs.</summary>
/// <param name="Name">The config name, e.g. <c>retention.ms</c>.</param>
/// <param name="Value">The value, or null when sensitive or unset.</param>
/// <param name="IsReadOnly">True when it cannot be altered.</param>
/// <param name="IsSensitive">True for secrets (the value is then withheld).</param>
/// <param name="Source">Kafka's <c>ConfigSource</c> wire value: 1 dynamic topic, 2 dynamic broker, 3 dynamic
/// default broker, 4 static broker, 5 default, 6 dynamic broker logger, 7 client metrics, 8 group; -1 unknown.
/// </param>
public sealed record ConfigEntry(string Name, string? Value, bool IsReadOnly, bool IsSensitive, sbyte Source)
{
    /// <summary>True when the value is the built-in default (source 5).</summary>
    public bool IsDefault => Source == 5;
}
