using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Lockstep.Protocol;

namespace Lockstep.Broker.Coordinators.Groups;

// JoinGroup / SyncGroup / Heartbeat / LeaveGroup and the rebalance state machine, following Kafka's
// GroupMetadataManager (classicGroupJoinToClassicGroup, completeClassicGroupJoin, classicGroupSyncToClassicGroup,
// classicGroupHeartbeatToClassicGroup, classicGroupLeaveToClassicGroup) and ClassicGroup.java.
internal sealed partial class GroupCoordinator
{
    /// <summary>JoinGroup: completes when the join phase of the next generation completes (or on an error).</summary>
    public Task<JoinGroupResult> JoinGroupAsync(JoinGroupArgs args) => SubmitAsync(() => JoinCoreAsync(args)).Unwrap();

    /// <summary>SyncGroup: completes when the leader's assignment is known (or on an error).</summary>
    public Task<SyncGroupResult> SyncGroupAsync(SyncGroupArgs args) => SubmitAsync(() => SyncCoreAsync(args)).Unwrap();

    /// <summary>Heartbeat.</summary>
    public Task<ErrorCode> HeartbeatAsync(string groupId, int generationId, string memberId, string? groupInstanceId) =>
        SubmitAsync(() => Heartbeat(groupId, generationId, memberId, groupInstanceId));

    /// <summary>LeaveGroup: a top-level error, or one result per member.</summary>
    public Task<(ErrorCode Error, IReadOnlyList<LeaveMemberResult> Members)> LeaveGroupAsync(
        string groupId, IReadOnlyList<LeavingMember> members) => SubmitAsync(() => Leave(groupId, members));

    // ---- JoinGroup ------------------------------------------------------------------------------------------

    private Task<JoinGroupResult> JoinCoreAsync(JoinGroupArgs args)
    {
        if (args.GroupId.Length == 0)
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.InvalidGroupId, args.MemberId));
        }

        if (args.SessionTimeoutMs < Config.GroupMinSessionTimeoutMs || args.SessionTimeoutMs > Config.GroupMaxSessionTimeoutMs)
        {
            return Task.FromResult(JoinGroupResult.Failed(ErrorCode.InvalidSessionTimeout, args.MemberId));
        }

        var isUnknownMember = args.MemberId.Length == 0;
        if (!_groups.TryGetValue(args.GroupId, out var group))
        {
            if (!isUnknownMember)
            {
                // A member id for a group that does not exist (e.g. it was deleted): make the member rejoin fresh.
                return Task.FromResult(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, args.MemberId));
            }

            group = GetOrCreateGroup(args.GroupId, NowMs);
        }

        var response = NewPending<JoinGroupResult>();
        if (isUnknownMember)
        {
            JoinNewMember(group, args, response);
        }
        else
        {
            JoinExistingMember(group, args, response);
        }

        return response.Task;
    }

    private void JoinNewMember(ClassicGroup group, JoinGroupArgs args, TaskCompletionSource<JoinGroupResult> response)
    {
        if (group.Is(GroupState.Dead))
        {
            response.TrySetResult(JoinGroupResult.Failed(ErrorCode.CoordinatorNotAvailable, ""));
            return;
        }

        if (!group.SupportsProtocols(args.ProtocolType, args.Protocols))
        {
            response.TrySetResult(JoinGroupResult.Failed(ErrorCode.InconsistentGroupProtocol, ""));
            return;
        }

        // Kafka's generateMemberId: the instance id (static) or client id (dynamic), a dash and a random UUID.
        var newMemberId = (args.GroupInstanceId ?? args.ClientId) + "-" + Guid.NewGuid().ToString("D");
        if (args.GroupInstanceId is { } instanceId)
        {
            // KIP-345: a static member never gets MEMBER_ID_REQUIRED; a known instance replaces its old member id.
            if (group.StaticMemberId(instanceId) is { } existing)
            {
                UpdateStaticMember(group, args, existing, newMemberId, response);
            }
            else
            {
                AddMemberThenRebalanceOrCompleteJoin(group, args, newMemberId, response);
            }
        }
        else if (args.RequireKnownMemberId)
        {
            // KIP-394 (JoinGroup v4+): hand out the id and park nothing; the member rejoins with it. The pending id
            // expires after the session timeout if the member never comes back.
            group.PendingMembers.Add(newMemberId);
            ScheduleHeartbeatExpiry(group, newMemberId, args.SessionTimeoutMs);
            response.TrySetResult(JoinGroupResult.Failed(ErrorCode.MemberIdRequired, newMemberId));
        }
        else
        {
            AddMemberThenRebalanceOrCompleteJoin(group, args, newMemberId, response);
        }
    }

    private void JoinExistingMember(ClassicGroup group, JoinGroupArgs args, TaskCompletionSource<JoinGroupResult> response)
    {
        var memberId = args.MemberId;
        if (group.Is(GroupState.Dead))
        {
            response.TrySetResult(JoinGroupResult.Failed(ErrorCode.CoordinatorNotAvailable, memberId));
            return;
        }

        if (!group.SupportsProtocols(args.ProtocolType, args.Protocols))
        {
            response.TrySetResult(JoinGroupResult.Failed(ErrorCode.InconsistentGroupProtocol, memberId));
            return;
        }

        if (group.PendingMembers.Contains(memberId))
        {
            // The second JoinGroup of the KIP-394 handshake.
            AddMemberThenRebalanceOrCompleteJoin(group, args, memberId, response);
            return;
        }

        var error = ValidateMember(group, memberId, args.GroupInstanceId);
        if (error != ErrorCode.None)
        {
            response.TrySetResult(JoinGroupResult.Failed(error, memberId));
            return;
        }

        var member = group.Member(memberId);
        member.ClientId = args.ClientId;
        member.ClientHost = args.ClientHost;
        switch (group.State)
        {
            case GroupState.PreparingRebalance:
                UpdateMember(member, args, response);
                MaybePrepareRebalanceOrCompleteJoin(group, $"member {memberId} rejoined");
                break;
            case GroupState.CompletingRebalance:
                if (member.Matches(args.Protocols))
                {
                    // Same metadata: the member probably missed its join response; repeat it.
                    response.TrySetResult(CurrentGenerationResponse(group, memberId, includeMembers: group.LeaderId == memberId));
                }
                else
                {
                    UpdateMember(member, args, response);
                    MaybePrepareRebalanceOrCompleteJoin(group, $"member {memberId} changed its metadata");
                }

                break;
            case GroupState.Stable:
                if (group.LeaderId == memberId || !member.Matches(args.Protocols))
                {
                    // The leader rejoining forces a rebalance: it is how it reacts to topic metadata changes.
                    UpdateMember(member, args, response);
                    MaybePrepareRebalanceOrCompleteJoin(group, $"member {memberId} rejoined a stable group");
                }
                else
                {
                    response.TrySetResult(CurrentGenerationResponse(group, memberId, includeMembers: false));
                }

                break;
            default:
                // Empty: the member outlived its group's generation; it must reset and rejoin.
                response.TrySetResult(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, memberId));
                break;
        }
    }

    private void UpdateStaticMember(
        ClassicGroup group, JoinGroupArgs args, string oldMemberId, string newMemberId, TaskCompletionSource<JoinGroupResult> response)
    {
        var oldMember = group.Member(oldMemberId);

        // The old member id is fenced from now on: its parked requests are answered FENCED_INSTANCE_ID.
        oldMember.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.FencedInstanceId, oldMemberId));
        oldMember.AwaitingJoin = null;
        oldMember.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.FencedInstanceId));
        oldMember.AwaitingSync = null;
        Cancel(new TimerKey(TimerKind.Heartbeat, group.GroupId, oldMemberId));

        var member = group.ReplaceStaticMember(args.GroupInstanceId!, oldMemberId, newMemberId);
        member.ClientId = args.ClientId;
        member.ClientHost = args.ClientHost;
        ScheduleHeartbeatExpiry(group, newMemberId, member.SessionTimeoutMs);
        UpdateMember(member, args, response);
        LogStaticMemberReplaced(group.GroupId, args.GroupInstanceId!, newMemberId, oldMemberId);

        switch (group.State)
        {
            case GroupState.Stable:
                if (group.ProtocolName == group.SelectProtocol())
                {
                    // KIP-345: no rebalance; the member gets the current generation and keeps its assignment (it
                    // sends SyncGroup next). Since v9 a rejoining static leader skips the assignment step.
                    PersistGroup(group);
                    member.AwaitingJoin = null;
                    var isLeader = group.LeaderId == newMemberId;
                    response.TrySetResult(args.SupportsSkipAssignment
                        ? CurrentGenerationResponse(group, newMemberId, includeMembers: isLeader) with { SkipAssignment = isLeader }
                        : CurrentGenerationResponse(group, newMemberId, includeMembers: false));
                }
                else
                {
                    MaybePrepareRebalanceOrCompleteJoin(group, $"static member {args.GroupInstanceId} changed the group's protocol");
                }

                break;
            case GroupState.CompletingRebalance:
                // The leader may already be assigning with the old member id: rebalance so the ids match.
                PrepareRebalance(group, $"static member {args.GroupInstanceId} rejoined during CompletingRebalance");
                break;
            default:
                MaybeCompleteJoinPhase(group);
                break;
        }
    }

    private void AddMemberThenRebalanceOrCompleteJoin(
        ClassicGroup group, JoinGroupArgs args, string memberId, TaskCompletionSource<JoinGroupResult> response)
    {
        var member = new GroupMember(memberId, args.GroupInstanceId, args.ClientId, args.ClientHost,
            args.RebalanceTimeoutMs, args.SessionTimeoutMs, args.ProtocolType, args.Protocols)
        {
            IsNew = true,
            AwaitingJoin = response,
        };

        // A member arriving during the initial-rebalance delay extends it (group.initial.rebalance.delay.ms).
        if (group.Is(GroupState.PreparingRebalance) && group.PreviousState == GroupState.Empty)
        {
            group.NewMemberAdded = true;
        }

        group.Add(member);

        // The session timeout does not protect a new member (it cannot heartbeat without its id); its parked join
        // expires after the new-member join timeout instead.
        ScheduleHeartbeatExpiry(group, memberId, NewMemberJoinTimeoutMs);
        MaybePrepareRebalanceOrCompleteJoin(group, $"member {memberId} joined");
    }

    private static void UpdateMember(GroupMember member, JoinGroupArgs args, TaskCompletionSource<JoinGroupResult> response)
    {
        // A second JoinGroup while one is parked (a client retry after a timeout): answer the abandoned one.
        if (member.AwaitingJoin is { } previous && !ReferenceEquals(previous, response))
        {
            previous.TrySetResult(JoinGroupResult.Failed(ErrorCode.RebalanceInProgress, member.MemberId));
        }

        member.Protocols = args.Protocols;
        member.RebalanceTimeoutMs = args.RebalanceTimeoutMs;
        member.SessionTimeoutMs = args.SessionTimeoutMs;
        member.AwaitingJoin = response;
    }

    private static JoinGroupResult CurrentGenerationResponse(ClassicGroup group, string memberId, bool includeMembers) =>
        new(ErrorCode.None, memberId, group.GenerationId, group.ProtocolType, group.ProtocolName, group.LeaderId ?? "",
            Members: includeMembers ? MemberList(group) : []);

    private static List<JoinedMember> MemberList(ClassicGroup group) =>
        group.Members.Select(m => new JoinedMember(m.MemberId, m.GroupInstanceId, m.MetadataFor(group.ProtocolName ?? ""))).ToList();

    // ---- rebalance state machine ----------------------------------------------------------------------------

    /// <summary>Kafka's <c>canRebalance</c>: PreparingRebalance is reachable from Stable, CompletingRebalance, Empty.</summary>
    private static bool CanRebalance(ClassicGroup group) =>
        group.State is GroupState.Stable or GroupState.CompletingRebalance or GroupState.Empty;

    private void MaybePrepareRebalanceOrCompleteJoin(ClassicGroup group, string reason)
    {
        if (CanRebalance(group))
        {
            PrepareRebalance(group, reason);
        }
        else
        {
            MaybeCompleteJoinPhase(group);
        }
    }

    private void PrepareRebalance(ClassicGroup group, string reason)
    {
        if (group.Is(GroupState.CompletingRebalance))
        {
            // Followers parked in SyncGroup must rejoin.
            ResetAndPropagateAssignment(group, ErrorCode.RebalanceInProgress);
        }

        group.PendingSyncMembers.Clear();
        Cancel(new TimerKey(TimerKind.Sync, group.GroupId, ""));

        var isInitialRebalance = group.Is(GroupState.Empty);
        if (isInitialRebalance)
        {
            // group.initial.rebalance.delay.ms: let more members of a new group arrive before the first generation.
            var delayMs = Config.GroupInitialRebalanceDelayMs;
            var remainingMs = Math.Max(RebalanceTimeoutMs(group) - delayMs, 0);
            ScheduleInitialRebalance(group.GroupId, delayMs, remainingMs);
        }

        group.TransitionTo(GroupState.PreparingRebalance, NowMs);
        LogPreparingRebalance(group.GroupId, group.GenerationId, reason);
        if (!isInitialRebalance)
        {
            MaybeCompleteJoinElseSchedule(group);
        }
    }

    private void ScheduleInitialRebalance(string groupId, int delayMs, int remainingMs) =>
        Schedule(new TimerKey(TimerKind.Join, groupId, ""), delayMs, () =>
        {
            if (!_groups.TryGetValue(groupId, out var group))
            {
                return;
            }

            if (group.NewMemberAdded && remainingMs != 0)
            {
                group.NewMemberAdded = false;
                ScheduleInitialRebalance(groupId, Math.Min(Config.GroupInitialRebalanceDelayMs, remainingMs), Math.Max(remainingMs - delayMs, 0));
            }
            else
            {
                CompleteJoin(group);
            }
        });

    private void MaybeCompleteJoinElseSchedule(ClassicGroup group)
    {
        if (group.AllMembersJoined)
        {
            CompleteJoin(group);
        }
        else
        {
            ScheduleJoinTimeout(group);
        }
    }

    /// <summary>The rebalance timeout: when it expires, members that did not rejoin are dropped.</summary>
    private void ScheduleJoinTimeout(ClassicGroup group)
    {
        var groupId = group.GroupId;
        Schedule(new TimerKey(TimerKind.Join, groupId, ""), RebalanceTimeoutMs(group), () =>
        {
            if (_groups.TryGetValue(groupId, out var current))
            {
                CompleteJoin(current);
            }
        });
    }

    private void MaybeCompleteJoinPhase(ClassicGroup group)
    {
        // During the initial delay only the delay timer completes the phase.
        if (group.Is(GroupState.PreparingRebalance) && group.PreviousState != GroupState.Empty && group.AllMembersJoined)
        {
            CompleteJoin(group);
        }
    }

    private static int RebalanceTimeoutMs(ClassicGroup group) =>
        group.Members.Select(m => m.RebalanceTimeoutMs).DefaultIfEmpty(0).Max();

    private void CompleteJoin(ClassicGroup group)
    {
        Cancel(new TimerKey(TimerKind.Join, group.GroupId, ""));

        // Dynamic members that did not rejoin in time leave; static members are kept (KIP-345: they may be
        // restarting and come back within their session timeout).
        foreach (var member in group.Members.Where(m => m.AwaitingJoin is null && !m.IsStatic).ToList())
        {
            group.Remove(member.MemberId);
            Cancel(new TimerKey(TimerKind.Heartbeat, group.GroupId, member.MemberId));
            member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        }

        if (group.Is(GroupState.Dead))
        {
            return;
        }

        if (!MaybeElectJoinedLeader(group) && group.MemberCount > 0)
        {
            // Only static members that have not rejoined yet: wait another rebalance timeout for them.
            ScheduleJoinTimeout(group);
            return;
        }

        var now = NowMs;
        group.GenerationId++;
        group.PendingSyncMembers.Clear();
        if (group.MemberCount == 0)
        {
            group.ProtocolName = null;
            group.TransitionTo(GroupState.Empty, now);
            LogEmptyGeneration(group.GroupId, group.GenerationId);
            PersistGroup(group);
            return;
        }

        group.ProtocolName = group.SelectProtocol();
        group.TransitionTo(GroupState.CompletingRebalance, now);
        LogNewGeneration(group.GroupId, group.GenerationId, group.MemberCount, group.ProtocolName);
        var members = MemberList(group);
        foreach (var member in group.Members)
        {
            var isLeader = group.LeaderId == member.MemberId;
            member.AwaitingJoin?.TrySetResult(new JoinGroupResult(
                ErrorCode.None, member.MemberId, group.GenerationId, group.ProtocolType, group.ProtocolName,
                group.LeaderId ?? "", Members: isLeader ? members : []));
            member.AwaitingJoin = null;
            ScheduleHeartbeatExpiry(group, member.MemberId, member.SessionTimeoutMs);
            member.IsNew = false;
            group.PendingSyncMembers.Add(member.MemberId);
        }

        // Members that never send SyncGroup are removed after the rebalance timeout (Kafka's pending sync expiry).
        var generation = group.GenerationId;
        var groupId = group.GroupId;
        Schedule(new TimerKey(TimerKind.Sync, groupId, ""), RebalanceTimeoutMs(group), () => ExpirePendingSync(groupId, generation));
    }

    /// <summary>Kafka's <c>maybeElectNewJoinedLeader</c>: the leader must be a member that rejoined.</summary>
    private static bool MaybeElectJoinedLeader(ClassicGroup group)
    {
        if (group.LeaderId is null)
        {
            return false;
        }

        if (group.Member(group.LeaderId).AwaitingJoin is not null)
        {
            return true;
        }

        var joined = group.Members.FirstOrDefault(m => m.AwaitingJoin is not null);
        if (joined is null)
        {
            return false;
        }

        group.LeaderId = joined.MemberId;
        return true;
    }

    private void ExpirePendingSync(string groupId, int generation)
    {
        if (!_groups.TryGetValue(groupId, out var group) || group.GenerationId != generation
            || group.State is not (GroupState.CompletingRebalance or GroupState.Stable) || group.PendingSyncMembers.Count == 0)
        {
            return;
        }

        var missing = group.PendingSyncMembers.ToList();
        foreach (var memberId in missing)
        {
            group.Remove(memberId);
            Cancel(new TimerKey(TimerKind.Heartbeat, groupId, memberId));
        }

        PrepareRebalance(group, $"members {string.Join(", ", missing)} did not send SyncGroup in time");
    }

    private void ScheduleHeartbeatExpiry(ClassicGroup group, string memberId, long timeoutMs)
    {
        var groupId = group.GroupId;
        Schedule(new TimerKey(TimerKind.Heartbeat, groupId, memberId), timeoutMs, () => ExpireHeartbeat(groupId, memberId));
    }

    private void ExpireHeartbeat(string groupId, string memberId)
    {
        if (!_groups.TryGetValue(groupId, out var group) || group.Is(GroupState.Dead))
        {
            return;
        }

        if (group.PendingMembers.Remove(memberId))
        {
            if (group.Is(GroupState.PreparingRebalance) && group.AllMembersJoined)
            {
                CompleteJoin(group);
            }

            return;
        }

        if (group.HasMember(memberId) && !group.Member(memberId).HasSatisfiedHeartbeat)
        {
            LogSessionExpired(groupId, memberId);
            RemoveMemberAndUpdateGroup(group, group.Member(memberId), $"member {memberId} session expired");
        }
    }

    private void RemoveMemberAndUpdateGroup(ClassicGroup group, GroupMember member, string reason)
    {
        RemoveMember(group, member);
        if (group.State is GroupState.Stable or GroupState.CompletingRebalance)
        {
            MaybePrepareRebalanceOrCompleteJoin(group, reason);
        }
        else if (group.Is(GroupState.PreparingRebalance) && group.AllMembersJoined)
        {
            CompleteJoin(group);
        }
    }

    private void RemoveMember(ClassicGroup group, GroupMember member)
    {
        // A parked request of a removed member is answered UNKNOWN_MEMBER_ID so a live client rejoins.
        member.AwaitingJoin?.TrySetResult(JoinGroupResult.Failed(ErrorCode.UnknownMemberId, ""));
        member.AwaitingJoin = null;
        member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        member.AwaitingSync = null;
        Cancel(new TimerKey(TimerKind.Heartbeat, group.GroupId, member.MemberId));
        group.Remove(member.MemberId);
    }

    /// <summary>Kafka's <c>validateMember</c>: static identity first (FENCED_INSTANCE_ID), then membership.</summary>
    private static ErrorCode ValidateMember(ClassicGroup group, string memberId, string? groupInstanceId)
    {
        if (groupInstanceId is not null)
        {
            var existing = group.StaticMemberId(groupInstanceId);
            if (existing is null)
            {
                return ErrorCode.UnknownMemberId;
            }

            if (existing != memberId)
            {
                return ErrorCode.FencedInstanceId;
            }
        }

        return group.HasMember(memberId) ? ErrorCode.None : ErrorCode.UnknownMemberId;
    }

    // ---- SyncGroup ------------------------------------------------------------------------------------------

    private Task<SyncGroupResult> SyncCoreAsync(SyncGroupArgs args)
    {
        if (args.GroupId.Length == 0)
        {
            return Task.FromResult(SyncGroupResult.Failed(ErrorCode.InvalidGroupId));
        }

        if (!_groups.TryGetValue(args.GroupId, out var group) || group.MemberCount == 0)
        {
            return Task.FromResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        }

        if (group.Is(GroupState.Dead))
        {
            return Task.FromResult(SyncGroupResult.Failed(ErrorCode.CoordinatorNotAvailable));
        }

        var error = ValidateMember(group, args.MemberId, args.GroupInstanceId);
        if (error == ErrorCode.None && args.GenerationId != group.GenerationId)
        {
            error = ErrorCode.IllegalGeneration;
        }

        if (error == ErrorCode.None
            && (IsInconsistent(args.ProtocolType, group.ProtocolType) || IsInconsistent(args.ProtocolName, group.ProtocolName)))
        {
            error = ErrorCode.InconsistentGroupProtocol;
        }

        if (error != ErrorCode.None)
        {
            return Task.FromResult(SyncGroupResult.Failed(error));
        }

        var member = group.Member(args.MemberId);
        switch (group.State)
        {
            case GroupState.PreparingRebalance:
                return Task.FromResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
            case GroupState.CompletingRebalance:
            {
                var response = NewPending<SyncGroupResult>();
                member.AwaitingSync?.TrySetResult(SyncGroupResult.Failed(ErrorCode.RebalanceInProgress));
                member.AwaitingSync = response;
                group.PendingSyncMembers.Remove(args.MemberId);
                if (group.LeaderId == args.MemberId)
                {
                    // Members the leader left out get an empty assignment, as in Kafka.
                    foreach (var m in group.Members)
                    {
                        m.Assignment = args.Assignments.GetValueOrDefault(m.MemberId) ?? [];
                    }

                    group.TransitionTo(GroupState.Stable, NowMs);
                    PersistGroup(group);
                    PropagateAssignment(group, ErrorCode.None);
                    if (group.PendingSyncMembers.Count == 0)
                    {
                        Cancel(new TimerKey(TimerKind.Sync, group.GroupId, ""));
                    }
                }

                return response.Task;
            }

            case GroupState.Stable:
                group.PendingSyncMembers.Remove(args.MemberId);
                if (group.PendingSyncMembers.Count == 0)
                {
                    Cancel(new TimerKey(TimerKind.Sync, group.GroupId, ""));
                }

                return Task.FromResult(new SyncGroupResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, member.Assignment));
            default:
                return Task.FromResult(SyncGroupResult.Failed(ErrorCode.UnknownMemberId));
        }
    }

    private static bool IsInconsistent(string? requested, string? actual) =>
        requested is not null && actual is not null && requested != actual;

    private void ResetAndPropagateAssignment(ClassicGroup group, ErrorCode error)
    {
        foreach (var member in group.Members)
        {
            member.Assignment = [];
        }

        PropagateAssignment(group, error);
    }

    private void PropagateAssignment(ClassicGroup group, ErrorCode error)
    {
        foreach (var member in group.Members)
        {
            if (member.AwaitingSync is { } pending)
            {
                pending.TrySetResult(error == ErrorCode.None
                    ? new SyncGroupResult(ErrorCode.None, group.ProtocolType, group.ProtocolName, member.Assignment)
                    : SyncGroupResult.Failed(error));
                member.AwaitingSync = null;

                // The session restarts once the member has its assignment (a session may have "expired" while it
                // was parked, which was ignored).
                ScheduleHeartbeatExpiry(group, member.MemberId, member.SessionTimeoutMs);
            }
        }
    }

    // ---- Heartbeat / LeaveGroup -----------------------------------------------------------------------------

    private ErrorCode Heartbeat(string groupId, int generationId, string memberId, string? groupInstanceId)
    {
        if (groupId.Length == 0)
        {
            return ErrorCode.InvalidGroupId;
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return ErrorCode.UnknownMemberId;
        }

        if (group.Is(GroupState.Dead))
        {
            return ErrorCode.CoordinatorNotAvailable;
        }

        var error = ValidateMember(group, memberId, groupInstanceId);
        if (error != ErrorCode.None)
        {
            return error;
        }

        if (generationId != group.GenerationId)
        {
            return ErrorCode.IllegalGeneration;
        }

        switch (group.State)
        {
            case GroupState.PreparingRebalance:
                ScheduleHeartbeatExpiry(group, memberId, group.Member(memberId).SessionTimeoutMs);
                return ErrorCode.RebalanceInProgress;
            case GroupState.CompletingRebalance or GroupState.Stable:
                // Heartbeats may start right after the join response, while the leader still assigns.
                ScheduleHeartbeatExpiry(group, memberId, group.Member(memberId).SessionTimeoutMs);
                return ErrorCode.None;
            default:
                return ErrorCode.UnknownMemberId;
        }
    }

    private (ErrorCode, IReadOnlyList<LeaveMemberResult>) Leave(string groupId, IReadOnlyList<LeavingMember> members)
    {
        if (groupId.Length == 0)
        {
            return (ErrorCode.InvalidGroupId, []);
        }

        if (!_groups.TryGetValue(groupId, out var group))
        {
            return (ErrorCode.UnknownMemberId, []);
        }

        if (group.Is(GroupState.Dead))
        {
            return (ErrorCode.CoordinatorNotAvailable, []);
        }

        var results = new List<LeaveMemberResult>(members.Count);
        var anyLeft = false;
        foreach (var leaving in members)
        {
            var error = ErrorCode.None;
            if (leaving.MemberId.Length == 0)
            {
                // Administrative removal of a static member by instance id (KIP-345, AdminClient).
                if (leaving.GroupInstanceId is not null && group.StaticMemberId(leaving.GroupInstanceId) is { } staticId)
                {
                    RemoveMember(group, group.Member(staticId));
                }
                else
                {
                    error = ErrorCode.UnknownMemberId;
                }
            }
            else if (group.PendingMembers.Remove(leaving.MemberId))
            {
                Cancel(new TimerKey(TimerKind.Heartbeat, groupId, leaving.MemberId));
            }
            else
            {
                error = ValidateMember(group, leaving.MemberId, leaving.GroupInstanceId);
                if (error == ErrorCode.None)
                {
                    RemoveMember(group, group.Member(leaving.MemberId));
                }
            }

            anyLeft |= error == ErrorCode.None;
            results.Add(new LeaveMemberResult(leaving.MemberId, leaving.GroupInstanceId, error));
        }

        if (anyLeft)
        {
            switch (group.State)
            {
                case GroupState.Stable or GroupState.CompletingRebalance:
                    MaybePrepareRebalanceOrCompleteJoin(group, "members left");
                    break;
                case GroupState.PreparingRebalance:
                    MaybeCompleteJoinPhase(group);
                    break;
            }
        }

        return (ErrorCode.None, results);
    }
}
