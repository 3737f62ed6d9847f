namespace Lockstep.Client.Admin;

/// <summary>One change for <see cref="KafkaAdminClient.IncrementalAlterConfigsAsync"/>.</summary>
/// <param name="Name">The config name.</param>
/// <param name="Operation">What to do.</param>
/// <param name="Value">The value (ignored for <see cref="AlterConfigOperation.Delete"/>).</param>
public sealed record ConfigAlteration(string Name, AlterConfigOperation Operation, string? Value = null);
