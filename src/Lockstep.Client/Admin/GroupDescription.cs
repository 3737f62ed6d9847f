using System.Collections.Generic;

namespace Lockstep.Client.Admin;

/// <summary>A classic group as described by DescribeGroups.</summary>
/// <param name="GroupId">The group id.</param>
/// <param name="State">Stable, PreparingRebalance, CompletingRebalance, Empty or Dead.</param>
/// <param name="ProtocolType">"consumer" for consumer groups.</param>
/// <param name="Protocol">The chosen assignor (range, cooperative-sticky, …) when stable.</param>
/// <param name="Members">The members.</param>
public sealed record GroupDescription(
    string GroupId, string State, string ProtocolType, string Protocol, IReadOnlyList<GroupMemberDescription> Members);
