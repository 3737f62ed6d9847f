using System.Collections.Generic;

namespace Lockstep.Client.Admin;

/// <summary>The cluster as reported by DescribeCluster (or Metadata on brokers without it).</summary>
/// <param name="ClusterId">The cluster id, or null if the broker reports none.</param>
/// <param name="ControllerId">The controller's broker id, or -1.</param>
/// <param name="Brokers">The live brokers.</param>
public sealed record ClusterDescription(string? ClusterId, int ControllerId, IReadOnlyList<BrokerDescription> Brokers);
