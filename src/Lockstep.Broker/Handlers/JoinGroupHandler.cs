// JoinGroup (key 11) — versions 0-9.
//
// Behaviour (classic group protocol, GroupMetadataManager.classicGroupJoinToClassicGroup):
// - The response is parked until the join phase completes: all known members rejoined, the rebalance timeout
//   expired, or (new group) group.initial.rebalance.delay.ms passed.
// - INVALID_GROUP_ID for an empty group id; INVALID_SESSION_TIMEOUT outside group.min/max.session.timeout.ms;
//   INCONSISTENT_GROUP_PROTOCOL without a protocol common to all members; UNKNOWN_MEMBER_ID for an unknown member
//   id; FENCED_INSTANCE_ID for a static member presenting a replaced member id.
// Version notes: v0 has no rebalance timeout (the session timeout is used, as in Kafka); v4+ a first join without a
// member id gets MEMBER_ID_REQUIRED and a generated id (KIP-394), older versions are admitted directly; v5+
// GroupInstanceId (KIP-345); v7+ ProtocolType in the response and a nullable ProtocolName (older versions get ""
// instead of null); v8+ Reason (logged by Kafka, ignored here); v9+ SkipAssignment for a rejoining static leader.
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps JoinGroup to <see cref="GroupCoordinator.JoinGroupAsync"/>.</summary>
internal sealed class JoinGroupHandler(GroupCoordinator coordinator) : ApiHandler<JoinGroupRequest, JoinGroupResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 9;

    /// <inheritdoc />
    protected override async ValueTask<JoinGroupResponse?> HandleAsync(
        RequestContext context, JoinGroupRequest request, CancellationToken cancellationToken)
    {
        var version = context.ApiVersion;
        var args = new JoinGroupArgs(
            request.GroupId,
            request.MemberId,
            version >= 5 ? request.GroupInstanceId : null,
            context.ClientId ?? "",
            ClientHosts.Of(context),
            request.SessionTimeoutMs,
            version == 0 ? request.SessionTimeoutMs : request.RebalanceTimeoutMs,
            request.ProtocolType,
            request.Protocols.Select(p => new GroupProtocol(p.Name, p.Metadata)).ToList(),
            RequireKnownMemberId: version >= 4,
            SupportsSkipAssignment: version >= 9);

        // Enqueued synchronously (ordering contract); only the wait for the join phase is asynchronous.
        var pending = coordinator.JoinGroupAsync(args);
        var result = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        var response = new JoinGroupResponse
        {
            ErrorCode = (short)result.Error,
            GenerationId = result.GenerationId,
            ProtocolType = result.ProtocolType,
            ProtocolName = version < 7 ? result.ProtocolName ?? "" : result.ProtocolName,
            Leader = result.Leader,
            SkipAssignment = result.SkipAssignment,
            MemberId = result.MemberId,
        };
        foreach (var member in result.Members ?? [])
        {
            response.Members.Add(new JoinGroupResponse.JoinGroupResponseMember
            {
                MemberId = member.MemberId,
                GroupInstanceId = member.GroupInstanceId,
                Metadata = member.Metadata,
            });
        }

        return response;
    }
}
