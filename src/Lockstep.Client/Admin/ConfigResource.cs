namespace Lockstep.Client.Admin;

/// <summary>A resource whose configs are described or altered.</summary>
/// <param name="Type">The resource kind.</param>
/// <param name="Name">The topic name, broker id, …</param>
public readonly record struct ConfigResource(ConfigResourceType Type, string Name);
