namespace Lockstep.Client.Admin;

/// <summary>A group as listed by ListGroups.</summary>
/// <param name="GroupId">The group id.</param>
/// <param name="ProtocolType">"consumer" for consumer groups, empty for groups used only to store offsets.</param>
/// <param name="State">The state (Stable, PreparingRebalance, CompletingRebalance, Empty, Dead), when reported
/// (ListGroups v4+), else empty.</param>
/// <param name="Type">The group type (classic, consumer, …; v5+), else empty.</param>
public sealed record GroupListing(string GroupId, string ProtocolType, string State, string Type);
