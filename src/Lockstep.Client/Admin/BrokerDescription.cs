namespace Lockstep.Client.Admin;

/// <summary>A broker of a <see cref="ClusterDescription"/>.</summary>
/// <param name="BrokerId">The node id.</param>
/// <param name="Host">The advertised host.</param>
/// <param name="Port">The advertised port.</param>
/// <param name="Rack">The rack, or null.</param>
public sealed record BrokerDescription(int BrokerId, string Host, int Port, string? Rack);
