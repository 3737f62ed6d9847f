using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Lockstep.Protocol;
using Lockstep.Protocol.Messages;
using Lockstep.Protocol.Primitives;
using Lockstep.Storage;

namespace Lockstep.Broker.Coordinators.Groups;

/// <summary>
/// A classic group member (Kafka's <c>ClassicGroupMember</c>). Mutated only on the coordinator's executor.
/// </summary>
internal sealed class GroupMember(
    string memberId,
    string? groupInstanceId,
    string clientId,
    string clientHost,
    int rebalanceTimeoutMs,
    int sessionTimeoutMs,
    string protocolType,
    IReadOnlyList<GroupProtocol> protocols)
{
    /// <summary>Member id; a static member gets a new one when it rejoins (KIP-345).</summary>
    public string MemberId { get; set; } = memberId;

    /// <summary>group.instance.id of a static member, or null.</summary>
    public string? GroupInstanceId { get; } = groupInstanceId;

    /// <summary>client.id of the joining connection.</summary>
    public string ClientId { get; set; } = clientId;

    /// <summary>Peer address of the joining connection.</summary>
    public string ClientHost { get; set; } = clientHost;

    /// <summary>Rebalance timeout the member asked for.</summary>
    public int RebalanceTimeoutMs { get; set; } = rebalanceTimeoutMs;

    /// <summary>Session timeout the member asked for.</summary>
    public int SessionTimeoutMs { get; set; } = sessionTimeoutMs;

    /// <summary>Protocol type (e.g. <c>consumer</c>).</summary>
    public string ProtocolType { get; } = protocolType;

    /// <summary>Supported protocols in preference order.</summary>
    public IReadOnlyList<GroupProtocol> Protocols { get; set; } = protocols;

    /// <summary>Assignment from the leader's last SyncGroup.</summary>
    public byte[] Assignment { get; set; } = [];

    /// <summary>Pending JoinGroup response, while the member waits for the join phase to complete.</summary>
    public TaskCompletionSource<JoinGroupResult>? AwaitingJoin { get; set; }

    /// <summary>Pending SyncGroup response, while a follower waits for the leader's assignment.</summary>
    public TaskCompletionSource<SyncGroupResult>? AwaitingSync { get; set; }

    /// <summary>
    /// True until the member's first join completes: a new member's pending join may expire (Kafka's
    /// <c>isNew</c>, which bounds defunct members when clients retry a timed-out JoinGroup).
    /// </summary>
    public bool IsNew { get; set; }

    /// <summary>True for a static member (KIP-345).</summary>
    public bool IsStatic => GroupInstanceId is not null;

    /// <summary>
    /// Kafka's <c>hasSatisfiedHeartbeat</c>: a member parked in JoinGroup or SyncGroup counts as alive, unless it is
    /// new (its join may time out).
    /// </summary>
    public bool HasSatisfiedHeartbeat => !IsNew && (AwaitingJoin is not null || AwaitingSync is not null);

    /// <summary>Metadata the member sent for <paramref name="protocol"/> (empty if it does not support it).</summary>
    public byte[] MetadataFor(string protocol) =>
        Protocols.FirstOrDefault(p => p.Name == protocol)?.Metadata ?? [];

    /// <summary>True when <paramref name="protocols"/> equals the member's (names, order and metadata).</summary>
    public bool Matches(IReadOnlyList<GroupProtocol> protocols) =>
        protocols.Count == Protocols.Count
        && protocols.Zip(Protocols).All(p => p.First.Name == p.Second.Name && p.First.Metadata.AsSpan().SequenceEqual(p.Second.Metadata));
}

/// <summary>
/// One classic group: membership, generation, protocol and committed offsets (Kafka's <c>ClassicGroup</c> plus
/// the group's slice of <c>OffsetMetadataManager</c>). A plain data structure: all the rules live in
/// <see cref="GroupCoordinator"/>, which owns every instance and touches it only on its executor.
/// </summary>
internal sealed class ClassicGroup(string groupId, long nowMs)
{
    private readonly Dictionary<string, GroupMember> _members = new(StringComparer.Ordinal);

    // Insertion order of member ids: "first joiner" leader election and a stable order for DescribeGroups and the
    // leader's member list (Dictionary enumeration order is not guaranteed after removals).
    private readonly List<string> _order = [];
    private readonly Dictionary<string, string> _staticMembers = new(StringComparer.Ordinal);

    /// <summary>The group id.</summary>
    public string GroupId { get; } = groupId;

    /// <summary>Current state.</summary>
    public GroupState State { get; private set; } = GroupState.Empty;

    /// <summary>State before the last transition (the initial-rebalance delay applies when it was Empty).</summary>
    public GroupState PreviousState { get; private set; } = GroupState.Empty;

    /// <summary>When the group entered <see cref="State"/> (offset expiry of Empty groups counts from here).</summary>
    public long CurrentStateTimestampMs { get; set; } = nowMs;

    /// <summary>Generation id; bumped at the end of each join phase.</summary>
    public int GenerationId { get; set; }

    /// <summary>Protocol type; null until a member joined (and for "simple" groups that only commit offsets).</summary>
    public string? ProtocolType { get; set; }

    /// <summary>Protocol selected for the current generation.</summary>
    public string? ProtocolName { get; set; }

    /// <summary>Leader member id, or null.</summary>
    public string? LeaderId { get; set; }

    /// <summary>Member ids handed out with MEMBER_ID_REQUIRED that have not joined yet (KIP-394).</summary>
    public HashSet<string> PendingMembers { get; } = new(StringComparer.Ordinal);

    /// <summary>Members that got their join response but have not sent SyncGroup yet.</summary>
    public HashSet<string> PendingSyncMembers { get; } = new(StringComparer.Ordinal);

    /// <summary>A member joined during the initial-rebalance delay, which extends the delay.</summary>
    public bool NewMemberAdded { get; set; }

    /// <summary>Committed offsets of the group.</summary>
    public Dictionary<TopicPartition, CommittedOffset> Offsets { get; } = [];

    /// <summary>Members in join order.</summary>
    public IEnumerable<GroupMember> Members => _order.Select(id => _members[id]);

    /// <summary>Number of members.</summary>
    public int MemberCount => _members.Count;

    /// <summary>True in the given state.</summary>
    public bool Is(GroupState state) => State == state;

    /// <summary>Moves to <paramref name="state"/>, remembering the previous one and the transition time.</summary>
    public void TransitionTo(GroupState state, long nowMs)
    {
        PreviousState = State;
        State = state;
        CurrentStateTimestampMs = nowMs;
    }

    /// <summary>True if <paramref name="memberId"/> is a current member.</summary>
    public bool HasMember(string memberId) => _members.ContainsKey(memberId);

    /// <summary>The member with <paramref name="memberId"/>.</summary>
    public GroupMember Member(string memberId) => _members[memberId];

    /// <summary>The member id mapped to a static instance id, or null.</summary>
    public string? StaticMemberId(string instanceId) => _staticMembers.GetValueOrDefault(instanceId);

    /// <summary>Adds a member; the first member becomes the leader.</summary>
    public void Add(GroupMember member)
    {
        if (_members.Count == 0)
        {
            ProtocolType = member.ProtocolType;
        }

        _members[member.MemberId] = member;
        _order.Add(member.MemberId);
        PendingMembers.Remove(member.MemberId);
        if (member.GroupInstanceId is { } instance)
        {
            _staticMembers[instance] = member.MemberId;
        }

        LeaderId ??= member.MemberId;
    }

    /// <summary>Removes a member (or a pending member id); elects another leader if it led.</summary>
    public void Remove(string memberId)
    {
        PendingMembers.Remove(memberId);
        PendingSyncMembers.Remove(memberId);
        if (!_members.Remove(memberId, out var member))
        {
            return;
        }

        _order.Remove(memberId);
        if (member.GroupInstanceId is { } instance && _staticMembers.GetValueOrDefault(instance) == memberId)
        {
            _staticMembers.Remove(instance);
        }

        if (LeaderId == memberId)
        {
            LeaderId = _order.Count > 0 ? _order[0] : null;
        }
    }

    /// <summary>
    /// KIP-345: a known static member rejoined without its member id; it takes <paramref name="newMemberId"/> and
    /// keeps its position, assignment and leadership. The old id is fenced from then on.
    /// </summary>
    public GroupMember ReplaceStaticMember(string instanceId, string oldMemberId, string newMemberId)
    {
        var member = _members[oldMemberId];
        _members.Remove(oldMemberId);
        member.MemberId = newMemberId;
        _members[newMemberId] = member;
        _order[_order.IndexOf(oldMemberId)] = newMemberId;
        _staticMembers[instanceId] = newMemberId;
        if (LeaderId == oldMemberId)
        {
            LeaderId = newMemberId;
        }

        if (PendingSyncMembers.Remove(oldMemberId))
        {
            PendingSyncMembers.Add(newMemberId);
        }

        return member;
    }

    /// <summary>True when every member has a pending JoinGroup and no MEMBER_ID_REQUIRED id is outstanding.</summary>
    public bool AllMembersJoined => _members.Values.All(m => m.AwaitingJoin is not null) && PendingMembers.Count == 0;

    /// <summary>Members with a pending JoinGroup.</summary>
    public int AwaitingJoinCount => _members.Values.Count(m => m.AwaitingJoin is not null);

    /// <summary>
    /// Kafka's <c>supportsProtocols</c>: an empty group accepts any non-empty type and protocol list; otherwise the
    /// type must match and at least one offered protocol must be supported by every current member.
    /// </summary>
    public bool SupportsProtocols(string protocolType, IReadOnlyList<GroupProtocol> protocols)
    {
        if (Is(GroupState.Empty))
        {
            return protocolType.Length > 0 && protocols.Count > 0;
        }

        return protocolType == ProtocolType && protocols.Any(p => _members.Values.All(m => m.Protocols.Any(q => q.Name == p.Name)));
    }

    /// <summary>
    /// Kafka's <c>selectProtocol</c>: among protocols every member supports, each member votes for its most
    /// preferred one and the most voted wins (ties: the leader's, then join order's, preference).
    /// </summary>
    public string SelectProtocol()
    {
        var candidates = _members.Values
            .Select(m => m.Protocols.Select(p => p.Name))
            .Aggregate((a, b) => a.Intersect(b, StringComparer.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        var votes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var member in Members)
        {
            var vote = member.Protocols.First(p => candidates.Contains(p.Name)).Name;
            votes[vote] = votes.GetValueOrDefault(vote) + 1;
        }

        var best = votes.Values.Max();
        var tieBreakOrder = (LeaderId is null ? Members : Members.OrderBy(m => m.MemberId == LeaderId ? 0 : 1))
            .SelectMany(m => m.Protocols.Select(p => p.Name));
        return tieBreakOrder.First(name => votes.GetValueOrDefault(name) == best);
    }

    /// <summary>
    /// Topics the members subscribe to, when the group uses the <c>consumer</c> protocol and the subscriptions
    /// parse; null when unknown (Kafka's <c>computeSubscribedTopics</c>). Parsed with the v0 prefix every
    /// ConsumerProtocolSubscription version shares, so newer client versions keep working.
    /// </summary>
    public HashSet<string>? SubscribedTopics()
    {
        if (ProtocolType != "consumer")
        {
            return null;
        }

        if (_members.Count == 0)
        {
            return [];
        }

        if (ProtocolName is null)
        {
            return null;
        }

        var topics = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (var member in _members.Values)
            {
                var reader = new KafkaReader(member.MetadataFor(ProtocolName));
                _ = reader.ReadInt16();
                var subscription = ConsumerProtocolSubscription.Read(ref reader, 0);
                topics.UnionWith(subscription.Topics);
            }
        }
        catch (KafkaProtocolException)
        {
            return null;
        }

        return topics;
    }

    /// <summary>Kafka's <c>isSubscribedToTopic</c>: unknown subscriptions count as subscribed for consumer groups.</summary>
    public bool IsSubscribedTo(string topic) =>
        SubscribedTopics() is { } topics ? topics.Contains(topic) : ProtocolType == "consumer";
}
