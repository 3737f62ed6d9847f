// Heartbeat (key 12) — versions 0-4.
//
// Behaviour (GroupMetadataManager.classicGroupHeartbeatToClassicGroup):
// - Resets the member's session timer. NONE in Stable/CompletingRebalance; REBALANCE_IN_PROGRESS while the group
//   prepares a rebalance (the member must rejoin); UNKNOWN_MEMBER_ID for an unknown group or member or an Empty group;
//   ILLEGAL_GENERATION for a stale generation; FENCED_INSTANCE_ID for a replaced static member.
// Version notes: v3+ GroupInstanceId; v4 is the first flexible version. Every version can carry these codes.
using System.Threading;
using System.Threading.Tasks;
using Lockstep.Broker.Coordinators.Groups;
using Lockstep.Broker.Dispatch;
using Lockstep.Protocol.Messages;

namespace Lockstep.Broker.Handlers;

/// <summary>Maps Heartbeat to <see cref="GroupCoordinator.HeartbeatAsync"/>.</summary>
internal sealed class HeartbeatHandler(GroupCoordinator coordinator) : ApiHandler<HeartbeatRequest, HeartbeatResponse>
{
    /// <inheritdoc />
    public override short MinVersion => 0;

    /// <inheritdoc />
    public override short MaxVersion => 4;

    /// <inheritdoc />
    protected override async ValueTask<HeartbeatResponse?> HandleAsync(
        RequestContext context, HeartbeatRequest request, CancellationToken cancellationToken)
    {
        var pending = coordinator.HeartbeatAsync(
            request.GroupId, request.GenerationId, request.MemberId, context.ApiVersion >= 3 ? request.GroupInstanceId : null);
        return new HeartbeatResponse { ErrorCode = (short)await pending.WaitAsync(cancellationToken).ConfigureAwait(false) };
    }
}
